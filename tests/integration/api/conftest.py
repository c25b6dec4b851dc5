"""An app per test, on the current backend, with its device token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
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
