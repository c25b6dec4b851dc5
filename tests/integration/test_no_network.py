"""No network unless asked: with no relay, hive, backup target or webhook configured, a
device's commands and server open no connection beyond loopback and look no name up.

Each process runs under a Python audit hook (``sys.addaudithook``) that records every
``socket.connect`` and ``socket.getaddrinfo`` it makes, whatever library makes it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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


def _run(log: Path, env: dict[str, str], *args: str) -> None:
    done = subprocess.run([sys.executable, "-c", _WATCHED, str(log), *args], env=env, capture_output=True, check=False)
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
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline
            time.sleep(0.1)
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
