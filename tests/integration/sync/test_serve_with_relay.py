"""`prism serve --relay`: a device's API writes reach another device, and the other
device's writes appear in the API, without anyone running `prism sync` on it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.integration.sync.conftest import PASSPHRASE, PRISM, Relay, _env, _run


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _eventually(check: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.1)


def test_a_serving_device_pushes_its_writes_and_pulls_the_others(relay: Relay, tmp_path: Path) -> None:
    laptop, phone = tmp_path / "laptop", tmp_path / "phone"
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE)
    _run(laptop, "sync", "init", "--relay", relay.url, "--passphrase-file", str(passphrase))
    account = (laptop / "sync-keys").exists() and _account_of(laptop)
    port = _free_port()
    server = subprocess.Popen(
        [PRISM, "serve", "--port", str(port), "--relay", relay.url],
        env=_env(laptop),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _eventually(lambda: _up(base))
        token = (laptop / "api-token").read_text().strip()
        api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"})
        created = api.post("/api/v1/portfolios", json={"name": "Written on the laptop", "base_currency": "EUR"})
        assert created.status_code == 201, created.text

        _run(phone, "sync", "join", "--relay", relay.url, "--account", account, "--passphrase-file", str(passphrase))
        _run(phone, "sync")
        listed = subprocess.run(
            [PRISM, "holdings"], env=_env(phone), capture_output=True, text=True, check=False, timeout=60
        )
        assert "Written on the laptop" in listed.stdout + listed.stderr

        _run(phone, "sync", "--once")  # nothing new: a no-op exchange
        phone_note = _write_note(phone)
        _run(phone, "sync")
        _eventually(lambda: phone_note in api.get("/api/v1/notes").text)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _account_of(data_dir: Path) -> str:
    from prism.sync.keys import load_device_keys

    keys = load_device_keys(data_dir / "sync-keys")
    assert keys is not None
    return str(keys.account_id)


def _write_note(data_dir: Path) -> str:
    """A note written on the phone through its own API."""
    port = _free_port()
    server = subprocess.Popen(
        [PRISM, "serve", "--port", str(port)], env=_env(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _eventually(lambda: _up(base))
        token = (data_dir / "api-token").read_text().strip()
        body = "Written on the phone 4711"
        response = httpx.post(f"{base}/api/v1/notes", json={"body": body}, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201, response.text
        return body
    finally:
        server.terminate()
        server.wait(timeout=30)
