"""Market data into the lake: prices, FX rates and ETF compositions, checked, then written.

An import reads rows (:mod:`~prism.analytics.market_files`: a CSV or Parquet file, or
a request's rows), checks and types every row (:mod:`~prism.analytics.market_rules`)
and, only when nothing is wrong, merges them into the lake under the writer's lease:
a re-imported (ISIN, date), (pair, date) or (fund, as-of) replaces what was stored,
never duplicates it. A rejected import raises :class:`MarketDataError` listing every
problem and writes nothing.

The :class:`ImportReport` names the ISINs an import touched, so a caller can act on
new prices afterwards (price alerts, say).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from prism.analytics.alerts import evaluate_alerts
from prism.analytics.market_files import Finding, MarketDataError, MarketKind, RawRows, read_market_file
from prism.analytics.market_rules import prepare
from prism.storage.catalog import list_assets
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, FX, PRICES, Dataset, Lake, write_rows, writer_lease

__all__ = [
    "DATASET_OF",
    "Finding",
    "ImportReport",
    "MarketDataError",
    "MarketKind",
    "StoredPrice",
    "catalog_isins",
    "import_market_file",
    "import_market_rows",
    "read_prices",
]

DATASET_OF: dict[MarketKind, Dataset] = {
    MarketKind.PRICES: PRICES,
    MarketKind.FX: FX,
    MarketKind.ETF_HOLDINGS: ETF_HOLDINGS,
}

#: Told which step an import is on ("reading", "checking", "writing"), for a progress display.
Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one import wrote, and what it noticed."""

    dataset: str
    rows: int
    version: int  # the dataset's manifest version the import committed
    earliest: dt.date | None  # the earliest date it touched
    isins: tuple[str, ...]  # prices: the assets; ETF holdings: the funds
    pairs: tuple[str, ...]  # FX: the currency pairs
    warnings: tuple[Finding, ...]
    alerts: int = 0  # alert events the new prices triggered


def _say(progress: Progress | None, step: str) -> None:
    if progress is not None:
        progress(step)


async def catalog_isins(database: Database, owner_id: uuid.UUID) -> frozenset[str]:
    """The ISINs of ``owner_id``'s live assets (an import warns about others)."""
    found = await database.read(list_assets, owner_id)
    return frozenset(asset.isin for asset in found if asset.isin)


async def import_market_rows(
    database: Database,
    lake: Lake,
    lock_path: Path,
    raw: RawRows,
    *,
    known_isins: Iterable[str] | None = None,
    default_currency: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Check ``raw`` and write it to its dataset under the writer's lease.

    ``known_isins`` are the importing owner's (None: not checked); ``lock_path`` is the
    device's lease file (``Settings.lake_lock_path``; PostgreSQL uses an advisory lock).
    """
    _say(progress, "checking")
    prepared = await asyncio.to_thread(prepare, raw, known_isins=known_isins, default_currency=default_currency)
    dataset = DATASET_OF[raw.kind]
    _say(progress, "writing")
    async with writer_lease(database, lock_path):
        written = await asyncio.to_thread(write_rows, lake, dataset, prepared.table)
    alerts = 0
    if dataset is PRICES and written.earliest is not None:
        # Rules are judged when prices arrive, after the lease is released: evaluation
        # only reads the lake.
        _say(progress, "evaluating alerts")
        alerts = await evaluate_alerts(database, lake, prepared.isins, written.earliest)
    return ImportReport(
        dataset=written.dataset,
        rows=written.rows,
        version=written.version,
        earliest=written.earliest,
        isins=prepared.isins,
        pairs=prepared.pairs,
        warnings=prepared.warnings,
        alerts=alerts,
    )


async def import_market_file(
    database: Database,
    lake: Lake,
    lock_path: Path,
    kind: MarketKind,
    path: Path,
    *,
    known_isins: Iterable[str] | None = None,
    default_currency: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV or Parquet file of ``kind`` (see ``docs/market-data.md``)."""
    _say(progress, "reading")
    raw = await asyncio.to_thread(read_market_file, path, kind)
    return await import_market_rows(
        database,
        lake,
        lock_path,
        raw,
        known_isins=known_isins,
        default_currency=default_currency,
        progress=progress,
    )


class StoredPrice(NamedTuple):
    """One close the lake holds."""

    isin: str
    date: dt.date
    close: Decimal
    currency: str


def read_prices(
    lake: Lake,
    *,
    isin: str | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    after: tuple[str, dt.date] | None = None,
    limit: int = 1000,
) -> list[StoredPrice]:
    """Closes in (ISIN, date) order, filtered, from after the (ISIN, date) ``after``; at most ``limit``."""
    conditions = ["true"]
    parameters: list[object] = []
    if isin is not None:
        conditions.append("isin = ?")
        parameters.append(isin)
    if start is not None:
        conditions.append("date >= ?")
        parameters.append(start)
    if end is not None:
        conditions.append("date <= ?")
        parameters.append(end)
    if after is not None:
        conditions.append("(isin, date) > (?, ?)")
        parameters.extend(after)
    rows = lake.query(
        f"SELECT isin, date, close, currency FROM {lake.scan(PRICES)} WHERE {' AND '.join(conditions)} "
        f"ORDER BY isin, date LIMIT {int(limit)}",
        parameters,
    )
    return [StoredPrice(**row) for row in rows.to_pylist()]
