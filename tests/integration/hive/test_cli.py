"""``prism hive`` end to end: preview prints the payload, sync sends it only when opted in, resolve offline."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from prism.api import create_app
from prism.cli import main
from prism.config import DatabaseSettings, load_settings
from prism.hive.wire import ContributionIn
from prism.migrations import open_upgraded
from prism.storage.catalog import create_asset, ensure_device_account, new_asset
from tests.serving import served_app

APPLE = "US0378331005"
DUMP = Path(__file__).parents[2] / "fixtures" / "hive" / "old_dump"


@pytest.fixture
def hive_url(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A hive server on loopback and its token."""
    settings = load_settings({}, data_dir=tmp_path / "hive", database_url=f"sqlite:///{tmp_path / 'hive.db'}")
    with served_app(create_app(settings)) as url:
        yield url, settings.token_path.read_text().strip()


def _device(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'device.db'}"

    async def seed() -> None:
        database = await open_upgraded(DatabaseSettings(url=url))
        try:
            owner = await database.write(ensure_device_account)
            asset = new_asset(
                owner, name="Apple Inc.", kind="stock", currency="USD", isin=APPLE, ticker="AAPL", exchange="XNAS"
            )
            await database.write(create_asset, owner, asset)
        finally:
            await database.dispose()

    asyncio.run(seed())
    return url


def _prism(tmp_path: Path, url: str, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", url, *args], env={"COLUMNS": "160", **(env or {})}
    )
    return result.exit_code, result.stdout, result.stderr


def test_preview_prints_exactly_the_payload_and_sync_sends_it_only_when_opted_in(
    tmp_path: Path, hive_url: tuple[str, str]
) -> None:
    device = _device(tmp_path)
    code, out, err = _prism(tmp_path, device, "hive", "preview")
    assert code == 0, err
    assert "contribution is off" in err
    payload = msgspec.json.decode(out.strip(), type=ContributionIn)
    assert [(a.isin, a.name, a.asset_class, a.base_currency) for a in payload.assets] == [
        (APPLE, "Apple Inc.", "Equity", "USD")
    ]
    assert [(x.ticker, x.exchange, x.isin) for x in payload.listings] == [("AAPL", "XNAS", APPLE)]
    assert b"quantity" not in out.encode()
    url, token = hive_url
    env = {"PRISM_HIVE_URL": url, "PRISM_HIVE_TOKEN": token}
    code, out, _ = _prism(tmp_path, device, "hive", "sync", env=env)
    assert code == 0, out
    assert "nothing sent" in out
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{url}/api/v1/hive/isins/{APPLE}", headers=headers).status_code == 404

    code, out, _ = _prism(tmp_path, device, "hive", "sync", env={**env, "PRISM_HIVE_CONTRIBUTE": "true"})
    assert code == 0, out
    assert "contributed 1 asset(s)" in out
    assert "1 asset(s)" in out
    found = httpx.get(f"{url}/api/v1/hive/isins/{APPLE}", headers=headers).json()
    assert found["fields"]["name"]["value"] == "Apple Inc."

    code, out, _ = _prism(tmp_path, device, "hive", "resolve", "--offline", APPLE, "US5949181045", env=env)
    assert code == 0, out
    assert "Apple Inc." in out
    assert "snapshot" in out
    assert "unknown" in out


def test_import_dump_fills_a_hive(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hive.db'}"
    code, out, _ = _prism(tmp_path, url, "hive", "import-dump", str(DUMP))
    assert code == 0, out
    assert "4 assets" in out
    assert "skipped" in out
    code, out, _ = _prism(tmp_path, url, "hive", "resolve", "--offline", APPLE)
    assert "Apple Inc." in out


def test_pull_without_a_hive_says_what_to_set(tmp_path: Path) -> None:
    code, _out, err = _prism(tmp_path, f"sqlite:///{tmp_path / 'device.db'}", "hive", "pull")
    assert code != 0
    assert "PRISM_HIVE_URL" in err
