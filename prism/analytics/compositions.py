"""Fund compositions from the lake, flattened once and kept while they stay current.

Compositions are market data that change only when ``etf_holdings`` is written. For
a day, each fund's latest composition on or before it is used; the flattening of
that selection (:func:`prism.analytics.flattening.flatten`, installed as DuckDB
tables by :func:`prism.analytics.look_through.install_flat`) is cached per lake,
keyed by the dataset's committed manifest (its version and live files) and the
selection itself (each fund's ``as_of``), so any write makes the next request build
anew and a cached flattening is never stale. Days with the same selection share one.
The cache keeps the :data:`CACHED` most recently used flattenings per lake; a
flattening a request still reads is dropped when that request is done.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import duckdb

from prism.analytics.flattening import Listing, Part, flatten
from prism.analytics.look_through import MAX_DEPTH, FlatTables, drop_flat, install_flat
from prism.storage.lake import ETF_HOLDINGS, Lake
from prism.storage.lake.manifest import Manifest

__all__ = ["CACHED", "Compositions", "current_compositions"]

#: Flattenings kept per lake (most recently used).
CACHED: Final = 8
_INDEXES = 4

_Selection = tuple[tuple[str, dt.date], ...]
_Version = tuple[int, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Compositions:
    """The flattened compositions in force on a day, installed in the lake's DuckDB."""

    tables: FlatTables
    as_of: dict[str, dt.date]  # fund ISIN -> the as_of of the composition used

    def reached(self, keys: Iterable[str]) -> dict[str, dt.date]:
        """The funds expanded when ``keys`` are held, with their compositions' dates."""
        found: set[str] = set()
        for key in keys:
            fid = self.tables.fund_ids.get(key)
            if fid is not None:
                found |= self.tables.reach[fid]
        return {fund: self.as_of[fund] for fund in sorted(found)}


@dataclass(slots=True)
class _Entry:
    compositions: Compositions
    users: int = 0
    retired: bool = False


@dataclass(slots=True)
class _LakeCache:
    duck: duckdb.DuckDBPyConnection  # the database the tables live in
    entries: OrderedDict[tuple[_Version, _Selection, int], _Entry] = field(default_factory=OrderedDict)
    indexes: OrderedDict[_Version, dict[str, list[dt.date]]] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    building: threading.Lock = field(default_factory=threading.Lock)


_CACHES: weakref.WeakKeyDictionary[Lake, _LakeCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache_of(lake: Lake) -> _LakeCache:
    duck = lake.duck
    with _CACHES_LOCK:
        cache = _CACHES.get(lake)
        if cache is None or cache.duck is not duck:  # a closed and reopened lake: a new database
            cache = _CACHES[lake] = _LakeCache(duck)
        return cache


def _index(lake: Lake, cache: _LakeCache, manifest: Manifest, version: _Version) -> dict[str, list[dt.date]]:
    """Each fund's composition dates, sorted (read once per manifest)."""
    with cache.lock:
        found = cache.indexes.get(version)
        if found is not None:
            cache.indexes.move_to_end(version)
            return found
    rows = lake.query(
        f"SELECT DISTINCT fund_isin, as_of FROM {lake.scan(ETF_HOLDINGS, manifest=manifest)} ORDER BY 1, 2"
    )
    dates: dict[str, list[dt.date]] = defaultdict(list)
    for fund, day in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
        dates[fund].append(day)
    with cache.lock:
        cache.indexes[version] = dict(dates)
        while len(cache.indexes) > _INDEXES:
            cache.indexes.popitem(last=False)
    return dict(dates)


def _read(lake: Lake, manifest: Manifest, on: dt.date) -> dict[str, list[Part]]:
    """The latest composition of every fund on or before ``on``.

    Constituents are ordered by weight (then key and attributes), so which listing of
    a security is "first" never depends on how the files happen to be sorted.
    """
    rows = lake.query(
        f"""SELECT fund_isin, coalesce(nullif(constituent_isin, ''), nullif(constituent_name, ''), 'unnamed') AS key,
                   constituent_name, country, sector, currency, asset_class, weight
            FROM {lake.scan(ETF_HOLDINGS, manifest=manifest)} WHERE as_of <= $on
            QUALIFY as_of = max(as_of) OVER (PARTITION BY fund_isin)
            ORDER BY fund_isin, weight DESC, key, country, sector, currency, asset_class, constituent_name""",
        {"on": on},
    )
    columns = [column.to_pylist() for column in rows.columns]
    compositions: dict[str, list[Part]] = defaultdict(list)
    listings: dict[tuple[str | None, ...], Listing] = {}  # one object per distinct listing
    for fund, *listed, weight in zip(*columns, strict=True):
        found = tuple(listed)
        listing = listings.get(found)
        if listing is None:
            listing = listings[found] = Listing._make(found)
        compositions[fund].append(Part(listing, weight))
    return dict(compositions)


def _drop(cache: _LakeCache, entry: _Entry) -> None:
    # A closed lake's database is gone, and its tables with it.
    with contextlib.suppress(duckdb.ConnectionException):
        drop_flat(cache.duck, entry.compositions.tables)


def _release(cache: _LakeCache, entry: _Entry) -> None:
    with cache.lock:
        entry.users -= 1
        drop = entry.retired and entry.users == 0
    if drop:
        _drop(cache, entry)


def _retire_oldest(cache: _LakeCache) -> list[_Entry]:
    """Evict beyond :data:`CACHED` (under ``cache.lock``); the entries nobody reads any more."""
    unused = []
    while len(cache.entries) > CACHED:
        _, entry = cache.entries.popitem(last=False)
        entry.retired = True
        if entry.users == 0:
            unused.append(entry)
    return unused


@contextmanager
def current_compositions(lake: Lake, on: dt.date, *, max_depth: int = MAX_DEPTH) -> Iterator[Compositions]:
    """The flattened compositions in force on ``on``, valid while the block runs."""
    cache = _cache_of(lake)
    manifest = lake.manifest(ETF_HOLDINGS)
    version: _Version = (manifest.version, tuple(file.key for file in manifest.files))
    index = _index(lake, cache, manifest, version)
    selection: _Selection = tuple(
        (fund, dates[bisect.bisect_right(dates, on) - 1]) for fund, dates in index.items() if dates[0] <= on
    )
    key = (version, selection, max_depth)
    entry = _acquire(cache, key)
    if entry is None:
        with cache.building:  # one build at a time: a second request for it waits, then reads it
            entry = _acquire(cache, key)
            if entry is None:
                entry = _build(lake, cache, key, manifest, on)
    try:
        yield entry.compositions
    finally:
        _release(cache, entry)


def _acquire(cache: _LakeCache, key: tuple[_Version, _Selection, int]) -> _Entry | None:
    with cache.lock:
        entry = cache.entries.get(key)
        if entry is not None:
            cache.entries.move_to_end(key)
            entry.users += 1
        return entry


def _build(
    lake: Lake, cache: _LakeCache, key: tuple[_Version, _Selection, int], manifest: Manifest, on: dt.date
) -> _Entry:
    compositions = _read(lake, manifest, on)
    tables = install_flat(cache.duck, flatten(compositions, max_depth=key[2]))
    entry = _Entry(Compositions(tables, dict(key[1])), users=1)
    with cache.lock:
        cache.entries[key] = entry
        unused = _retire_oldest(cache)
    for old in unused:
        _drop(cache, old)
    return entry
