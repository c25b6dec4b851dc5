"""Stopping a server: held long-polls are answered, not cut off, and the process exits."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nacl.signing

from prism.client.relay import RelayClient, RelayIdentity
from tests.serving import wait_until_healthy

_SERVE = "import sys\nfrom prism.cli import main\nmain(sys.argv[1:])\n"


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PRISM_DATA_DIR": str(tmp_path / "data")}
    command = [sys.executable, "-c", _SERVE, "serve", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_until_healthy(url, process)
    return process, url


async def test_sigterm_answers_held_long_polls_and_exits(tmp_path: Path) -> None:
    process, url = _start(tmp_path)
    try:
        key = nacl.signing.SigningKey.generate()
        async with RelayClient(url, timeout=60) as relay:
            account = await relay.create_account("00aa11bb22cc33dd", key.verify_key)
            relay.identity = RelayIdentity(account, "00aa11bb22cc33dd", key)
            held = asyncio.create_task(relay.pull(0, wait=25))
            await asyncio.sleep(1.0)  # the pull is held now
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            page = await asyncio.wait_for(held, timeout=8)
            assert page.items == []
            assert time.monotonic() - stopped < 5
        # uvicorn re-raises the signal once it has shut down cleanly.
        assert await asyncio.to_thread(process.wait, 20) in {0, -signal.SIGTERM}
    finally:
        if process.poll() is None:
            process.kill()
