"""An app per test, on the current backend, with its device token."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings


@pytest.fixture
async def client(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client for a fresh device app, authenticated with its token."""
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
    app = create_app(settings)
    async with AsyncTestClient(app) as test_client:
        token = settings.token_path.read_text().strip()
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A device server on a free loopback port: (base URL, token)."""
    config = load_settings({}, data_dir=tmp_path, database_url=database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", config.token_path.read_text().strip()
    server.should_exit = True
    thread.join(timeout=30)
