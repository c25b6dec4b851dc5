"""Serving an app for a test: a real uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from litestar import Litestar
from litestar.testing import AsyncTestClient


@contextmanager
def served_app(app: Litestar) -> Iterator[str]:
    """Serve ``app`` on its own thread and event loop while the block runs; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Held long-polls must not hold up the test's end.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


async def sign_up(client: AsyncTestClient, email: str) -> dict[str, str]:  # type: ignore[type-arg]
    """Sign an account up on a hosted app; the headers that act as it."""
    response = await client.post("/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes] | subprocess.Popen[str], why: Callable[[], str] = lambda: ""
) -> None:
    """Wait (up to a minute) until the server ``process`` answers ``GET {url}/healthz``;
    fail with ``why()`` if it exits first."""
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"the server exited: {why()}"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)
