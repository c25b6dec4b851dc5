"""No network unless asked: with no relay, hive, backup target or webhook configured, a
device's commands and server open no connection beyond loopback and look no name up.

Each process runs under a Python audit hook (``sys.addaudithook``) that records every
``socket.connect`` and ``socket.getaddrinfo`` it makes, whatever library makes it.
The server is also run in a network namespace with only loopback (tests/integration/
isolation.py), where the kernel itself counts every attempt to reach anything else,
from any code in the process, Python or not.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.isolation import Isolation, IsolationUnavailable, isolated_network
from tests.serving import wait_until_healthy

_WATCHED = """
import json, sys
log = open(sys.argv[1], "a", buffering=1)

def hook(event, args):
    if event == "socket.connect":
        log.write(json.dumps({"event": event, "address": repr(args[1])}) + "\\n")
    elif event == "socket.getaddrinfo":
        log.write(json.dumps({"event": event, "host": repr(args[0])}) + "\\n")

sys.addaudithook(hook)
from prism.cli import main
main(sys.argv[2:])
"""
_LOOPBACK = ("'127.0.0.1'", "'localhost'", "'::1'", "None")


def _run(log: Path, env: dict[str, str], *args: str, enter: tuple[str, ...] = ()) -> None:
    command = [*enter, sys.executable, "-c", _WATCHED, str(log), *args]
    done = subprocess.run(command, env=env, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]


def _outside_loopback(log: Path) -> list[dict[str, str]]:
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        entry = json.loads(line)
        target = entry.get("address") or entry.get("host") or ""
        if target.startswith("'/") or target.startswith("b'"):
            continue  # unix sockets (PostgreSQL's, when used) are local
        if not any(target.startswith(f"({host}") or target == host for host in _LOOPBACK):
            found.append(entry)
    return found


@pytest.fixture
def device_env(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}
    return {**keep, "PRISM_DATA_DIR": str(tmp_path / "data")}


def test_device_commands_open_no_connection(device_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "connections.jsonl"
    _run(log, device_env, "demo", "--no-market", "--no-serve", "--scale", "0.2")
    _run(log, device_env, "holdings")
    _run(log, device_env, "export", "--format", "json", str(tmp_path / "export"))
    assert _outside_loopback(log) == []


def test_the_device_server_and_its_jobs_open_no_connection(device_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "connections.jsonl"
    _run(log, device_env, "demo", "--no-market", "--no-serve", "--scale", "0.2")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-c", _WATCHED, str(log), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=device_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url, server)
        token = (Path(device_env["PRISM_DATA_DIR"]) / "api-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        for path in ("/api/v1/holdings", "/api/v1/portfolios", "/api/v1/transactions?limit=5"):
            assert httpx.get(f"{url}{path}", headers=headers, timeout=30).status_code == 200, path
        time.sleep(3)  # background jobs (backup schedule, webhook deliverer) get a turn
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    assert _outside_loopback(log) == []


def test_the_watch_sees_a_lookup_a_configured_hive_makes(device_env: dict[str, str], tmp_path: Path) -> None:
    # The control: when a hive is configured, its name is looked up, and the watch says so.
    log = tmp_path / "connections.jsonl"
    _run(log, {**device_env, "PRISM_HIVE_URL": "http://example.invalid:9"}, "hive", "resolve", "DE0007164600")
    assert {"event": "socket.getaddrinfo", "host": "'example.invalid'"} in _outside_loopback(log)


# --- the same, in a network namespace with no route out -------------------------------

_ROOT = Path(__file__).resolve().parents[2]
_OUTSIDE = "http://192.0.2.1:9"  # TEST-NET-1: never anyone's address, and no route to it here


@pytest.fixture
def isolation() -> Iterator[Isolation]:
    with ExitStack() as stack:
        try:
            made = stack.enter_context(isolated_network())
        except IsolationUnavailable as why:
            # A developer's machine may not allow namespaces; CI must, or the check is not done at all.
            if os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}:
                pytest.fail(f"CI cannot isolate the network, so the no-network check did not run: {why}")
            pytest.skip(f"cannot isolate the network here: {why}")
        yield made


def _jobs_env(device_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    # A backup repository in a local folder, due every second, so the schedule runs while the
    # test does; a cheap key derivation keeps each run short. Nothing else is configured.
    return {
        **device_env,
        "PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository"),
        "PRISM_BACKUP_PASSPHRASE": "correct horse battery",
        "PRISM_BACKUP_INTERVAL": "1",
        "PRISM_SYNC_KDF_OPS": "1",
        "PRISM_SYNC_KDF_MEM_KIB": "8192",
    }


def _serve_isolated(isolation: Isolation, log: Path, env: dict[str, str], *extra_hooks: str) -> dict[str, Any]:
    """Run ``prism serve`` in the namespace, drive it from there until every job had a turn, stop it."""
    port = 8731  # the namespace is new: its ports are all free
    output = log.with_suffix(".server.log")
    with output.open("wb") as sink:
        server = subprocess.Popen(
            [*isolation.enter, sys.executable, "-c", _WATCHED, str(log), "serve", "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
        try:
            client = [sys.executable, "-m", "tests.integration.isolated_client", f"http://127.0.0.1:{port}"]
            token = str(Path(env["PRISM_DATA_DIR"]) / "api-token")
            driven = isolation.run(*client, token, *extra_hooks, check=False, cwd=_ROOT, env=env)
        finally:
            # ``ip netns exec`` and ``nsenter`` exec the command: the signal reaches the server itself.
            server.send_signal(signal.SIGTERM)
            try:
                stopped = server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()  # never leave a server behind in the namespace
                server.wait(timeout=10)
                raise
    assert driven.returncode == 0, driven.stderr[-2000:] + output.read_text()[-2000:]
    # uvicorn re-raises the signal once it has shut down gracefully.
    assert stopped in {0, -signal.SIGTERM}, output.read_text()[-2000:]
    outcome: dict[str, Any] = json.loads(driven.stdout)
    return outcome


def test_in_a_namespace_with_no_route_out_the_server_and_its_jobs_try_no_connection(
    isolation: Isolation, device_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "connections.jsonl"
    outcome = _serve_isolated(isolation, log, _jobs_env(device_env, tmp_path))
    # Every job had its turn: a delivery, an alert, a backup; every route answered.
    assert set(outcome["statuses"].values()) == {200}, outcome["statuses"]
    assert outcome["alerts_triggered"] == 1
    assert outcome["delivered"] >= 1
    assert outcome["backup"]["last_error"] is None
    assert outcome["backup"]["last_snapshot_id"]
    assert _outside_loopback(log) == []
    assert isolation.interfaces() == ["lo"]
    assert isolation.attempts() == {}  # the kernel: no route looked up in vain, no datagram sent


def test_in_the_namespace_both_watches_see_a_configured_hive(
    isolation: Isolation, device_env: dict[str, str], tmp_path: Path
) -> None:
    # The control for the checks above, with the same machinery: a hive configured outside is tried.
    log = tmp_path / "connections.jsonl"
    hive = {**device_env, "PRISM_HIVE_URL": _OUTSIDE}
    _run(log, hive, "hive", "resolve", "DE0007164600", enter=isolation.enter)
    assert {"event": "socket.connect", "address": "('192.0.2.1', 9)"} in _outside_loopback(log)
    assert isolation.attempts().get("Ip.OutNoRoutes", 0) >= 1


def test_in_the_namespace_both_watches_see_a_server_job_reach_out(
    isolation: Isolation, device_env: dict[str, str], tmp_path: Path
) -> None:
    # The control for the server: a webhook registered outside is tried by the deliverer.
    log = tmp_path / "connections.jsonl"
    outcome = _serve_isolated(isolation, log, _jobs_env(device_env, tmp_path), f"{_OUTSIDE}/hook")
    tried = outcome["attempts"][f"{_OUTSIDE}/hook"]
    assert tried[0]["status_code"] is None, tried  # the server recorded a failed attempt
    assert tried[0]["error"].startswith("ConnectError"), tried
    assert {"event": "socket.connect", "address": "('192.0.2.1', 9)"} in _outside_loopback(log)
    assert isolation.attempts().get("Ip.OutNoRoutes", 0) >= 1
