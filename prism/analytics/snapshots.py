"""The snapshots job: each owner's daily portfolio values, materialised incrementally.

The lake's per-owner ``snapshots`` dataset holds a row per portfolio (and one for
the owner's total) per day. A refresh recomputes only the days that can have
changed, the earliest of:

* a day whose entries differ from the last run (a digest per day of the entries'
  content, so a back-dated, edited or deleted entry is found wherever it sits);
* the earliest day a newer version of ``prices`` or ``fx`` touched;
* the day after the last one computed, when time or data has moved on;
* the first day of all, when portfolios, their currencies, or assets' ISINs changed.

When neither the ledger's change log nor the market data moved, a refresh costs a
count and two manifest reads. The job's own state (``_state.json`` beside the
owner's snapshots) is written after the snapshots commit, so a crash in between only
makes the next run recompute more. After a recompute the job also stores each
portfolio's standard results (:mod:`prism.analytics.results`). Refreshes hold the lake
writer's lease.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import msgspec
from sqlalchemy import Connection, func, select

from prism.analytics.results import standard_results
from prism.analytics.valuation import Holdings, daily_values
from prism.domain.ledger import LedgerEntry
from prism.domain.positions import SortKey
from prism.domain.timeline import build_timeline
from prism.errors import UnreadableDataError
from prism.storage.engine import Database
from prism.storage.lake import (
    FX,
    PRICES,
    RESULTS,
    SNAPSHOTS,
    Lake,
    drop_owner_datasets,
    write_rows,
    writer_lease,
)
from prism.storage.ledger_load import gc_paused, load_ledger
from prism.storage.settings import get_setting
from prism.storage.tables import assets, changes, portfolios

__all__ = ["OwnerBook", "Refresh", "load_owner_book", "refresh_snapshots"]

_FORMAT = 1


class Refresh(NamedTuple):
    """What one refresh did."""

    recomputed_from: dt.date | None  # None: everything was current
    through: dt.date | None  # the last day now materialised
    rows: int


class _State(msgspec.Struct, frozen=True, kw_only=True):
    format: int = _FORMAT
    ledger_stamp: tuple[int, int] = (0, 0)
    prices_version: int = 0
    fx_version: int = 0
    through: dt.date | None = None
    data_end: dt.date | None = None
    shape: str = ""  # digest of portfolios, currencies and ISINs
    digests: dict[str, str] = msgspec.field(default_factory=dict)  # ISO day -> digest of its entries


class OwnerBook(NamedTuple):
    """Everything of one owner's ledger the valuation needs."""

    holdings: Holdings
    entries: list[tuple[SortKey, LedgerEntry]]
    stamp: tuple[int, int]


def ledger_stamp(connection: Connection, owner_id: uuid.UUID) -> tuple[int, int]:
    """A cheap summary of the change log that moves with every write, local or merged."""
    c = changes.c
    row = connection.execute(select(func.count(), func.max(c.hlc)).where(c.owner_id == owner_id)).one()
    return int(row[0]), int(row[1] or 0)


def load_owner_book(connection: Connection, owner_id: uuid.UUID) -> OwnerBook:
    """The owner's live portfolios, assets, base currency and ledger, read in one transaction."""
    p, a = portfolios.c, assets.c
    bases = {
        row.id: row.base_currency
        for row in connection.execute(
            select(p.id, p.base_currency).where(p.owner_id == owner_id, p.deleted_at.is_(None))
        )
    }
    isins = {row.id: row.isin for row in connection.execute(select(a.id, a.isin).where(a.owner_id == owner_id))}
    base = get_setting(connection, owner_id, "base_currency").value
    with gc_paused():
        entries = [item for item in load_ledger(connection, owner_id) if item[1].portfolio_id in bases]
    return OwnerBook(Holdings(bases, isins, str(base)), entries, ledger_stamp(connection, owner_id))


def _digests(entries: Sequence[tuple[SortKey, LedgerEntry]]) -> dict[str, str]:
    by_day: dict[dt.date, int] = defaultdict(int)
    for _, entry in entries:
        digest = hashlib.blake2b(repr(entry).encode(), digest_size=8).digest()
        by_day[entry.date] = (by_day[entry.date] + int.from_bytes(digest, "big")) % (1 << 64)
    return {day.isoformat(): f"{value:016x}" for day, value in by_day.items()}


def _shape(holdings: Holdings) -> str:
    described = repr((sorted((str(k), v) for k, v in holdings.bases.items()), holdings.owner_base))
    described += repr(sorted((str(k), v or "") for k, v in holdings.isins.items()))
    return hashlib.blake2b(described.encode(), digest_size=16).hexdigest()


_STATE_NAME = "_state.json"


def _read_state(lake: Lake, owner_id: uuid.UUID) -> _State | None:
    # Sealed like the owner's files when the lake has an owner key: the days with
    # activity and the entries' digests are the owner's too.
    data = lake.owner_object(SNAPSHOTS, owner_id, _STATE_NAME)
    if data is None:
        return None
    try:
        state = msgspec.json.decode(data, type=_State)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # an unreadable state only costs a full recompute
    return state if state.format == _FORMAT else None


def _market_versions(lake: Lake) -> tuple[int, int]:
    return lake.manifest(PRICES).version, lake.manifest(FX).version


def _is_current(state: _State | None, stamp: tuple[int, int], versions: tuple[int, int], today: dt.date) -> bool:
    if state is None or state.through is None or state.data_end is None:
        return False
    unchanged = state.ledger_stamp == stamp and (state.prices_version, state.fx_version) == versions
    return unchanged and state.through >= min(today, state.data_end)


def _data_end(lake: Lake, entries: Sequence[tuple[SortKey, LedgerEntry]], today: dt.date) -> dt.date:
    last_price = lake.query(f"SELECT max(date) AS last FROM {lake.scan(PRICES)}").column("last")[0].as_py()
    last_entry = entries[-1][1].date if entries else None
    candidates = [day for day in (last_price, last_entry) if day is not None]
    return min(today, max(candidates)) if candidates else today


def _dirty_from(
    lake: Lake, state: _State | None, book: OwnerBook, digests: dict[str, str], first: dt.date
) -> dt.date | None:
    if state is None or state.through is None or state.shape != _shape(book.holdings):
        return first
    days = digests.keys() | state.digests.keys()
    candidates = [dt.date.fromisoformat(day) for day in days if digests.get(day) != state.digests.get(day)]
    for dataset, seen in ((PRICES, state.prices_version), (FX, state.fx_version)):
        changed = lake.manifest(dataset).earliest_change_since(seen)
        if changed is not None:
            candidates.append(changed)
    candidates.append(state.through + dt.timedelta(days=1))
    return max(min(candidates), first)


def _recompute(lake: Lake, owner_id: uuid.UUID, book: OwnerBook, today: dt.date) -> Refresh:
    """Recompute what changed; ``book.entries`` is consumed (emptied) on the way."""
    state = _read_state(lake, owner_id)
    versions = _market_versions(lake)
    if _is_current(state, book.stamp, versions, today):
        return Refresh(None, state.through if state else None, 0)
    digests = _digests(book.entries)
    end = _data_end(lake, book.entries, today)
    first = book.entries[0][1].date if book.entries else None
    start = _dirty_from(lake, state, book, digests, first) if first is not None else None
    rows = 0
    if start is not None and start <= end:
        with gc_paused():
            timeline = build_timeline(book.entries, book.holdings.bases)
        # The entries are all in the timeline and the digests now: let them go before
        # DuckDB needs its memory (100,000 entries hold about 150 MB).
        book.entries.clear()
        values = daily_values(lake, timeline, book.holdings, start=start, end=end)
        live = sorted({str(key) for key in book.holdings.bases} | {"all"})
        write_rows(
            lake,
            SNAPSHOTS,
            values,
            owner=owner_id,
            drop_where="date >= ? OR portfolio_id NOT IN (SELECT unnest(?))",
            parameters=[start, live],
        )
        rows = values.num_rows
        results = standard_results(lake, owner_id, book.holdings.bases, book.holdings.owner_base, end)
        write_rows(lake, RESULTS, results, owner=owner_id, drop_where="true")
    elif first is None and state is not None and state.through is not None:
        write_rows(lake, SNAPSHOTS, SNAPSHOTS.schema.empty_table(), owner=owner_id, drop_where="true")
        write_rows(lake, RESULTS, RESULTS.schema.empty_table(), owner=owner_id, drop_where="true")
    new_state = _State(
        ledger_stamp=book.stamp,
        prices_version=versions[0],
        fx_version=versions[1],
        through=end if first is not None else None,
        data_end=end,
        shape=_shape(book.holdings),
        digests=digests,
    )
    lake.put_owner_object(SNAPSHOTS, owner_id, _STATE_NAME, msgspec.json.encode(new_state))
    return Refresh(start if rows else None, new_state.through, rows)


async def refresh_snapshots(
    database: Database, lake: Lake, lock_path: Path, owner_id: uuid.UUID, *, today: dt.date | None = None
) -> Refresh:
    """Bring ``owner_id``'s snapshots up to date (only what changed is recomputed)."""
    day = today or dt.datetime.now(dt.UTC).date()
    stamp = await database.read(ledger_stamp, owner_id)
    try:
        state, versions = await asyncio.gather(
            asyncio.to_thread(_read_state, lake, owner_id), asyncio.to_thread(_market_versions, lake)
        )
    except UnreadableDataError:
        state, versions = None, await asyncio.to_thread(_market_versions, lake)
    if _is_current(state, stamp, versions, day):
        return Refresh(None, state.through if state else None, 0)
    async with writer_lease(database, lock_path):

        async def recompute() -> Refresh:
            book = await database.read(load_owner_book, owner_id)
            return await asyncio.to_thread(_recompute, lake, owner_id, book, day)

        try:
            return await recompute()
        except UnreadableDataError:
            # Sealed under another key (a key change cut short, a lake from elsewhere):
            # these files are derived from the ledger, so they are dropped and computed again.
            await asyncio.to_thread(drop_owner_datasets, lake, owner_id)
            return await recompute()
