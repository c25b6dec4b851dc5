"""A device against a real hive server: mirror by snapshot and delta, lake feed, cache with a TTL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from prism.api import create_app
from prism.config import load_settings
from prism.hive.device import hive_key, pull, resolve_on_device
from prism.hive.remote import HiveRemote
from prism.hive.wire import AssetIn, CompositionIn, ContributionIn, HoldingIn, ListingIn
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, Lake
from tests.serving import served_app

APPLE, MSFT, WORLD, SAP = "US0378331005", "US5949181045", "IE00B4L5Y983", "DE0007164600"
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def hive(tmp_path: Path) -> Iterator[HiveRemote]:
    """A hive: a real server on loopback (its own SQLite file), and a client with its token."""
    settings = load_settings({}, data_dir=tmp_path / "hive", database_url=f"sqlite:///{tmp_path / 'hive.db'}")
    with served_app(create_app(settings)) as url:
        remote = HiveRemote(url, settings.token_path.read_text().strip())
        yield remote
        remote.close()


def _world(weights: tuple[str, str]) -> CompositionIn:
    return CompositionIn(
        etf_isin=WORLD,
        as_of=TODAY,
        holdings=[
            HoldingIn(isin=APPLE, name="Apple", weight=weights[0], country="US", currency="USD"),
            HoldingIn(isin=MSFT, name="Microsoft", weight=weights[1], country="US"),
        ],
    )


async def test_pull_mirrors_the_hive_then_its_deltas_and_feeds_the_lake(
    db: Database, lake: Lake, hive: HiveRemote, tmp_path: Path
) -> None:
    hive.contribute(
        ContributionIn(
            assets=[AssetIn(isin=APPLE, name="Apple Inc.", asset_class="Equity"), AssetIn(isin=WORLD, name="World")],
            listings=[ListingIn(ticker="AAPL", exchange="XNAS", isin=APPLE, currency="USD")],
            compositions=[_world(("60", "40"))],
        )
    )
    key = hive_key("hive")
    first = await pull(db, lake, tmp_path / "lake.lock", key, hive.snapshot)
    assert (first.since, first.assets, first.funds, first.lake_rows) == (0, 2, 1, 2)
    stored = lake.query(
        f"SELECT constituent_isin, weight FROM {lake.scan(ETF_HOLDINGS)} WHERE fund_isin = ? ORDER BY weight DESC",
        [WORLD],
    ).to_pylist()
    assert stored == [
        {"constituent_isin": APPLE, "weight": Decimal("0.6")},
        {"constituent_isin": MSFT, "weight": Decimal("0.4")},
    ]

    hive.contribute(ContributionIn(assets=[AssetIn(isin=SAP, name="SAP")], compositions=[_world(("0.5", "0.5"))]))
    second = await pull(db, lake, tmp_path / "lake.lock", key, hive.snapshot)
    assert (second.since, second.assets, second.funds) == (first.version, 1, 1)
    # The composition of the same day was replaced whole in the lake.
    weights = lake.query(f"SELECT weight FROM {lake.scan(ETF_HOLDINGS)} WHERE fund_isin = ?", [WORLD]).to_pylist()
    assert weights == [{"weight": Decimal("0.5")}] * 2

    offline = await resolve_on_device(db, [APPLE, SAP, WORLD, MSFT])  # no hive to ask: the mirror alone
    assert {isin: r.origin for isin, r in offline.items()} == {APPLE: "snapshot", SAP: "snapshot", WORLD: "snapshot"}
    assert offline[APPLE].listings[0].ticker == "AAPL"
    composition = offline[WORLD].composition
    assert composition is not None
    assert composition.holdings is not None
    assert [h.weight for h in composition.holdings] == ["0.5", "0.5"]
    again = await pull(db, lake, tmp_path / "lake.lock", key, hive.snapshot)
    assert (again.since, again.assets, again.funds) == (second.version, 0, 0)


async def test_online_answers_are_cached_for_their_time_to_live(db: Database, hive: HiveRemote) -> None:
    hive.contribute(ContributionIn(assets=[AssetIn(isin=APPLE, name="Apple Inc.")]))
    now = dt.datetime.now(dt.UTC)
    online = await resolve_on_device(db, [APPLE, MSFT], ask=hive.resolve, now=now)
    assert [(isin, r.origin) for isin, r in online.items()] == [(APPLE, "hive")]

    offline = HiveRemote("http://127.0.0.1:9", None)  # nothing listens there
    try:
        within = await resolve_on_device(db, [APPLE, MSFT], ask=offline.resolve, now=now + dt.timedelta(hours=23))
        assert [(isin, r.origin, r.stale) for isin, r in within.items()] == [(APPLE, "cache", False)]
        later = await resolve_on_device(db, [APPLE, MSFT], ask=offline.resolve, now=now + dt.timedelta(hours=25))
        assert [(isin, r.origin, r.stale) for isin, r in later.items()] == [(APPLE, "cache", True)]
    finally:
        offline.close()
    # Online again after the time to live: asked afresh, fresh again.
    refreshed = await resolve_on_device(db, [APPLE], ask=hive.resolve, now=now + dt.timedelta(hours=26))
    assert (refreshed[APPLE].origin, refreshed[APPLE].stale) == ("hive", False)
