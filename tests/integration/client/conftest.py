"""Real servers for the client: a device app on each database, and a hosted one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from prism.api import create_app
from prism.config import Settings, load_settings
from tests.serving import served_app


class Served:
    """A running server: its URL, its settings and (device mode) its token."""

    def __init__(self, url: str, settings: Settings, token: str | None) -> None:
        self.url = url
        self.settings = settings
        self.token = token


@pytest.fixture
def device(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A device server on a free loopback port, on the current database."""
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
    with served_app(create_app(settings)) as url:
        yield Served(url, settings, settings.token_path.read_text().strip())


@pytest.fixture
def hosted_server(database_url: str, tmp_path: Path) -> Iterator[Served]:
    """A hosted server (accounts sign up for tokens) on the current database."""
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url, mode="hosted")
    with served_app(create_app(settings)) as url:
        yield Served(url, settings, None)


def served_spec(tmp_path: Path, mode: str) -> dict[str, Any]:
    """The OpenAPI document a freshly served app answers at ``/schema/openapi.json``."""
    settings = load_settings({}, data_dir=tmp_path / mode, mode=mode)
    with served_app(create_app(settings)) as url:
        response = httpx.get(f"{url}/schema/openapi.json", timeout=30)
    response.raise_for_status()
    spec: dict[str, Any] = response.json()
    return spec


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The served specs of a device and of a hosted server (hosted adds ``/api/v1/auth``)."""
    folder = tmp_path_factory.mktemp("spec")
    return {mode: served_spec(folder, mode) for mode in ("device", "hosted")}
