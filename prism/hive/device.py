"""A device's side of the hive: its mirror, its lookup cache, its contribution, its lake.

* **Mirror** (private lookups): :func:`pull` downloads the snapshot, or the delta since
  the version the device last saw (``hive_mirror``), applies it to the device's own
  consensus tables, and writes every fund composition it brought into the lake's
  ``etf_holdings``. Resolving from the mirror tells the hive nothing.
* **Cache** (online lookups, for those who prefer them): answers from the hive are
  kept in ``hive_cache`` for a time to live (24 hours, as the old app did); offline,
  an expired answer is still served, marked stale.
* **Contribution** (opt-in): :func:`contribution_payload` is exactly what
  ``prism hive sync`` sends when ``PRISM_HIVE_CONTRIBUTE`` is on, and what
  ``prism hive preview`` prints.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import msgspec
import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.engine import Connection

from prism.domain.isin import parse_isin
from prism.hive.contributions import upsert_rows
from prism.hive.resolve import resolve_isins
from prism.hive.snapshots import apply_snapshot
from prism.hive.wire import AssetIn, ContributionIn, FundRow, ListingIn, Resolution, Snapshot
from prism.storage.catalog import list_assets
from prism.storage.engine import Database
from prism.storage.hive_tables import hive_cache, hive_mirror
from prism.storage.lake import ETF_HOLDINGS, Lake, write_rows, writer_lease

__all__ = [
    "CACHE_TTL",
    "Ask",
    "Fetch",
    "PullReport",
    "cache_answers",
    "cached_answers",
    "contribution_payload",
    "funds_table",
    "hive_key",
    "mirror_version",
    "pull",
    "resolve_on_device",
]

#: Gets the snapshot (``since`` 0) or the delta after ``since``.
Fetch = Callable[[int], Snapshot]
#: Asks the hive online: {isin: resolution, or None when the hive does not know it}.
Ask = Callable[[list[str]], dict[str, Resolution | None]]

#: How long an online answer is trusted before it is asked again.
CACHE_TTL = dt.timedelta(hours=24)

#: Prism's asset kinds in the old hive's asset classes.
_CLASSES = {"stock": "Equity", "etf": "ETF", "fund": "Fund", "bond": "Bond", "crypto": "Crypto", "cash": "Cash"}


def hive_key(url: str) -> str:
    """The key a device files a hive's mirror state under."""
    return hashlib.sha256(url.rstrip("/").encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PullReport:
    """What a pull brought: the versions, the rows applied, the compositions written."""

    since: int
    version: int
    assets: int
    funds: int
    lake_rows: int


def mirror_version(connection: Connection, key: str) -> int:
    """The hive version the device's mirror of ``key`` holds (0: none yet)."""
    found: int | None = connection.execute(select(hive_mirror.c.version).where(hive_mirror.c.hive == key)).scalar()
    return found or 0


def _apply(connection: Connection, key: str, snapshot: Snapshot, now: dt.datetime) -> None:
    apply_snapshot(connection, snapshot, now.date())
    upsert_rows(connection, hive_mirror, [{"hive": key, "version": snapshot.version, "synced_at": now}], ["hive"])


def funds_table(funds: Sequence[FundRow]) -> pa.Table:
    """Fund compositions in the lake's ``etf_holdings`` shape."""
    rows = [
        {
            "fund_isin": fund.etf_isin,
            "as_of": fund.as_of,
            "constituent_isin": isin,
            "constituent_name": name,
            "weight": Decimal(weight),
            "country": country,
            "sector": sector,
            "currency": currency,
            "asset_class": asset_class,
        }
        for fund in funds
        for isin, name, weight, country, sector, currency, asset_class in fund.holdings
    ]
    return pa.Table.from_pylist(rows, schema=ETF_HOLDINGS.schema)


async def pull(
    database: Database, lake: Lake, lock_path: Path, key: str, fetch: Fetch, *, now: dt.datetime | None = None
) -> PullReport:
    """Bring the device's mirror of hive ``key`` up to date; compositions into the lake.

    ``fetch(since)`` returns the snapshot (``since`` 0) or the delta after ``since``.
    """
    now = now or dt.datetime.now(dt.UTC)
    since = await database.read(mirror_version, key)
    snapshot = await asyncio.to_thread(fetch, since)
    lake_rows = 0
    if snapshot.funds:
        table = funds_table(snapshot.funds)
        async with writer_lease(database, lock_path):
            lake_rows = (await asyncio.to_thread(write_rows, lake, ETF_HOLDINGS, table)).rows
    # The mirror's version moves only after the lake has the compositions: a failed
    # lake write is retried by the next pull instead of being skipped.
    await database.write(_apply, key, snapshot, now)
    return PullReport(since, snapshot.version, len(snapshot.assets), len(snapshot.funds), lake_rows)


def cached_answers(
    connection: Connection, isins: Sequence[str], now: dt.datetime
) -> dict[str, tuple[Resolution | None, bool]]:
    """Cached online answers: (resolution or None for "the hive did not know", expired)."""
    found: dict[str, tuple[Resolution | None, bool]] = {}
    for start in range(0, len(isins), 500):
        part = list(isins[start : start + 500])
        for row in connection.execute(select(hive_cache).where(hive_cache.c.isin.in_(part))):
            body = msgspec.json.decode(row.body, type=Resolution) if row.body is not None else None
            found[row.isin] = (body, row.expires_at <= now)
    return found


def cache_answers(
    connection: Connection,
    answers: dict[str, Resolution | None],
    now: dt.datetime,
    ttl: dt.timedelta = CACHE_TTL,
) -> None:
    """Keep online answers (None: unknown to the hive) until ``now + ttl``."""
    rows = [
        {
            "isin": isin,
            "body": msgspec.json.encode(answer) if answer is not None else None,
            "fetched_at": now,
            "expires_at": now + ttl,
        }
        for isin, answer in answers.items()
    ]
    upsert_rows(connection, hive_cache, rows, ["isin"])


async def resolve_on_device(
    database: Database,
    isins: Sequence[str],
    *,
    ask: Ask | None = None,
    now: dt.datetime | None = None,
    ttl: dt.timedelta = CACHE_TTL,
) -> dict[str, Resolution]:
    """Resolve from the mirror, then the fresh cache, then (with ``ask``) the hive online.

    ``ask(isins)`` asks the hive for the ISINs left; when it fails (offline) expired
    cached answers are served, marked stale. ISINs nobody knows are left out.
    """
    now = now or dt.datetime.now(dt.UTC)
    wanted = [parse_isin(isin, field=f"isins[{index}]") for index, isin in enumerate(isins)]
    _version, mirrored = await database.read(resolve_isins, wanted, today=now.date(), with_holdings=True)
    found = {isin: msgspec.structs.replace(r, origin="snapshot") for isin, r in mirrored.items()}
    left = [isin for isin in wanted if isin not in found]
    cached = await database.read(cached_answers, left, now) if left else {}
    expired: dict[str, Resolution | None] = {}
    for isin in left:
        if isin in cached:
            answer, is_expired = cached[isin]
            if not is_expired:
                if answer is not None:
                    found[isin] = msgspec.structs.replace(answer, origin="cache")
                continue
            expired[isin] = answer
    asking = [isin for isin in left if isin not in found and (isin not in cached or isin in expired)]
    if asking and ask is not None:
        try:
            answers = await asyncio.to_thread(ask, asking)
        except OSError:
            answers = None  # offline: fall back to what the cache still holds
        if answers is not None:
            await database.write(cache_answers, answers, now, ttl)
            for isin, answer in answers.items():
                if answer is not None:
                    found[isin] = msgspec.structs.replace(answer, origin="hive")
                expired.pop(isin, None)
    for isin, answer in expired.items():
        if answer is not None and isin not in found:
            found[isin] = msgspec.structs.replace(answer, origin="cache", stale=True)
    return {isin: found[isin] for isin in wanted if isin in found}


def contribution_payload(connection: Connection, owner_id: uuid.UUID) -> ContributionIn:
    """What this device would contribute: its assets' ISINs, names, classes, currencies and listings."""
    assets, listings = [], []
    for asset in sorted(list_assets(connection, owner_id), key=lambda a: a.isin or ""):
        if asset.isin is None:
            continue
        assets.append(
            AssetIn(
                isin=asset.isin,
                name=asset.name[:200] or None,
                asset_class=_CLASSES.get(asset.kind),  # type: ignore[arg-type]
                base_currency=asset.currency,
            )
        )
        if asset.ticker and asset.exchange and len(asset.ticker) <= 30 and len(asset.exchange) <= 10:
            listings.append(ListingIn(ticker=asset.ticker, exchange=asset.exchange, isin=asset.isin))
    return ContributionIn(assets=assets[:1000], listings=listings[:1000])
