"""An app per test, on the current backend, with its device token."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings
from tests.serving import served_app


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
    with served_app(create_app(config)) as url:
        yield url, config.token_path.read_text().strip()


@pytest.fixture
async def hosted(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client for a fresh hosted app (accounts sign up; no token yet)."""
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url, mode="hosted")
    async with AsyncTestClient(create_app(settings)) as client:
        yield client
