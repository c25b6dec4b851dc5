"""The legacy import end to end: find the files, read them, write them once.

Everything relational is one database transaction (a dry run rolls it back, so its
report is exactly what a real run would do); the ETF compositions go to the lake
after it, each through the market import under the writer's lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlalchemy import Connection, select

from prism.analytics.market import MarketDataError, import_market_rows
from prism.analytics.market_rules import prepare
from prism.errors import ValidationError
from prism.imports.legacy.apply import legacy_portfolio, merge_assets, open_positions, record_statement
from prism.imports.legacy.enrichment import read_enrichment
from prism.imports.legacy.etf import Composition, IsinMatcher, read_etf_cache, read_metadata
from prism.imports.legacy.folder import LegacyFiles, etf_cache_files, find_legacy_files
from prism.imports.legacy.holdings import OpeningPosition, read_holdings
from prism.imports.legacy.newer_db import NewerApp, read_newer_app
from prism.imports.legacy.report import FileReport, LegacyReport
from prism.imports.legacy.statements import StatementRow, read_cash, read_trades
from prism.imports.legacy.universe import AssetFacts, read_universe
from prism.storage.catalog import ensure_device_account
from prism.storage.engine import Database
from prism.storage.lake import ETF_HOLDINGS, Lake
from prism.storage.settings import put_setting
from prism.storage.tables import settings

__all__ = ["import_legacy"]


TRADES_SOURCE = "legacy:trades"
CASH_SOURCE = "legacy:statement"
DATABASE_SOURCE = "legacy:prism.db"
HIVE_SETTING = "hive_contribution_enabled"


class _DryRun(Exception):
    """Raised inside the write to roll a dry run back."""


@dataclass(slots=True)
class _Read:
    """Everything the relational part writes, read from the files."""

    universe: list[tuple[FileReport, list[AssetFacts]]] = field(default_factory=list)
    holdings: list[tuple[FileReport, list[OpeningPosition], dt.date]] = field(default_factory=list)
    enrichment: list[tuple[FileReport, list[AssetFacts]]] = field(default_factory=list)
    compositions: list[tuple[FileReport, Composition]] = field(default_factory=list)
    statements: list[tuple[FileReport, list[StatementRow], str]] = field(default_factory=list)
    newer: list[tuple[FileReport, NewerApp, dt.date]] = field(default_factory=list)


def _file_date(path: Path) -> dt.date:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _read(root: Path, files: LegacyFiles, report: LegacyReport, as_of: dt.date | None) -> _Read:
    read = _Read()

    def entry(path: Path, format_name: str) -> FileReport:
        return report.add(str(path.relative_to(root)), format_name)

    for path in files.secrets:
        entry(path, "secret").note("file", "never read: secrets are not imported")
    for path in files.backups:
        entry(path, "backup").note("file", "ignored: a backup of another file")
    for path in files.universe:
        found = entry(path, "asset universe")
        read.universe.append((found, read_universe(path, found)))
    for path in files.holdings:
        found = entry(path, "calculated holdings")
        read.holdings.append((found, read_holdings(path, found), as_of or _file_date(path)))
    for path in files.enrichment:
        found = entry(path, "enrichment cache")
        read.enrichment.append((found, read_enrichment(path, found)))
    known = [fact for _, facts in (*read.universe, *read.enrichment) for fact in facts]
    matcher = IsinMatcher.of(known)
    for metadata_path in files.etf_metadata:
        metadata = read_metadata(metadata_path, entry(metadata_path, "ETF cache metadata"))
        for path in etf_cache_files(metadata_path):
            found = entry(path, "ETF holdings cache")
            composition = read_etf_cache(path, metadata, matcher, found)
            if composition is not None:
                read.compositions.append((found, composition))
    for path in files.trades:
        found = entry(path, "statement trades")
        read.statements.append((found, read_trades(path, found), TRADES_SOURCE))
    for path in files.cash:
        found = entry(path, "statement cash entries")
        read.statements.append((found, read_cash(path, found), CASH_SOURCE))
    for path in files.databases:
        found = entry(path, "newer app database")
        read.newer.append((found, read_newer_app(path, found), as_of or _file_date(path)))
    return read


def _write(connection: Connection, owner_id: uuid.UUID | None, read: _Read, dry_run: bool) -> uuid.UUID:
    owner = owner_id or ensure_device_account(connection)
    for file_report, facts in read.universe:
        merge_assets(connection, owner, facts, file_report, create=True)
    for file_report, positions, as_of in read.holdings:
        open_positions(connection, owner, positions, as_of, file_report)
    for file_report, facts in read.enrichment:
        merge_assets(connection, owner, facts, file_report, create=False)
    for file_report, rows, source in read.statements:
        record_statement(connection, owner, rows, source, file_report)
    for file_report, newer, as_of in read.newer:
        _write_newer(connection, owner, file_report, newer, as_of)
    if dry_run:
        raise _DryRun
    return owner


_COMPOSITION_COLUMNS = (
    "fund_isin, as_of, constituent_isin, constituent_name, weight, country, sector, currency, asset_class"
)


def _sorted_rows(rows: list[dict[str, object]]) -> list[tuple[str, ...]]:
    return sorted(tuple(repr(value) for value in row.values()) for row in rows)


def _stored_equal(lake: Lake, composition: Composition, prepared: pa.Table) -> bool:
    """True when the lake already holds exactly this composition (a re-run writes nothing)."""
    stored = lake.query(
        f"SELECT {_COMPOSITION_COLUMNS} FROM {lake.scan(ETF_HOLDINGS)} WHERE fund_isin = ? AND as_of = ?",
        [composition.fund_isin, composition.as_of],
    )
    return _sorted_rows(stored.to_pylist()) == _sorted_rows(prepared.select(stored.column_names).to_pylist())


def _hive_setting(connection: Connection, owner: uuid.UUID, file_report: FileReport, enabled: bool) -> None:
    """The newer app's one user setting, unless the user already chose in Prism."""
    c = settings.c
    chosen = connection.scalar(select(c.key).where(c.owner_id == owner, c.key == HIVE_SETTING))
    if chosen is not None:
        file_report.unchanged += 1
        return
    put_setting(connection, owner, HIVE_SETTING, "bool", enabled)
    file_report.imported += 1


def _write_newer(
    connection: Connection, owner: uuid.UUID, file_report: FileReport, newer: NewerApp, as_of: dt.date
) -> None:
    merge_assets(connection, owner, newer.assets, file_report, create=True)
    for legacy_id, (name, currency) in newer.portfolios.items():
        portfolio = legacy_portfolio(
            connection, owner, f"prism.db:{legacy_id}", file_report, name=name, currency=currency
        )
        if portfolio is None:
            continue
        rows = [row for number, row in newer.entries if number == legacy_id]
        record_statement(connection, owner, rows, DATABASE_SOURCE, file_report, portfolio=portfolio)
        positions = [position for number, position in newer.positions if number == legacy_id]
        open_positions(
            connection,
            owner,
            positions,
            as_of,
            file_report,
            portfolio=portfolio,
            source=DATABASE_SOURCE,
            key_prefix=f"position:{legacy_id}:",
        )
    if newer.hive_contribution is not None:
        _hive_setting(connection, owner, file_report, newer.hive_contribution)
    orphans = {number for number, _ in [*newer.entries, *newer.positions]} - set(newer.portfolios)
    for number in sorted(orphans):
        file_report.skip(f"portfolio {number}", "rows of a portfolio the database does not list")


async def _compositions(database: Database, lake: Lake | None, lock_path: Path, read: _Read, dry_run: bool) -> None:
    for file_report, composition in read.compositions:
        try:
            prepared = await asyncio.to_thread(prepare, composition.raw)
            warnings = prepared.warnings
            if lake is not None and await asyncio.to_thread(_stored_equal, lake, composition, prepared.table):
                file_report.unchanged += composition.rows
                continue
            if lake is None:
                file_report.skip("file", "not written: no lake configured")
                continue
            if not dry_run:
                written = await import_market_rows(database, lake, lock_path, composition.raw)
                warnings = written.warnings
        except MarketDataError as error:
            for problem in error.problems:
                file_report.note(problem.field, problem.message)
            file_report.skip("file", f"composition refused: {error.total} problem(s)")
            continue
        except ValidationError as error:
            file_report.skip("file", f"composition refused: {error}")
            continue
        file_report.imported += composition.rows
        for warning in warnings:
            file_report.note("composition", warning.message)


async def import_legacy(
    database: Database,
    lake: Lake | None,
    lock_path: Path,
    root: Path,
    *,
    as_of: dt.date | None = None,
    dry_run: bool = False,
    owner_id: uuid.UUID | None = None,
) -> LegacyReport:
    """Import the old app's data folder ``root``; see ``docs/legacy-import.md``.

    ``owner_id`` defaults to the device's account (created if there is none yet).
    """
    if not await asyncio.to_thread(root.is_dir):
        raise ValidationError(f"{root} is not a folder", field="dir")
    report = LegacyReport(str(root), dry_run)
    files = await asyncio.to_thread(find_legacy_files, root)
    read = await asyncio.to_thread(_read, root, files, report, as_of)
    with contextlib.suppress(_DryRun):
        await database.write(_write, owner_id, read, dry_run)
    await _compositions(database, lake, lock_path, read, dry_run)
    return report
