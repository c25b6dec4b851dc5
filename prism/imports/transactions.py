"""Importing a file of transactions: checked whole, written in one transaction, idempotent.

Every row gets a deterministic id (:func:`prism.domain.ids.imported_transaction_id`)
from the format's source and the row's external id (:mod:`prism.imports.row_ids`): the
file's own id when it has one, else a hash of the row's normalised content (with the
target portfolio) and an occurrence counter, so identical rows stay distinct but a
second import of the same file, on this device or another, finds every id already
stored and adds nothing.

The file is read as a stream, a chunk of rows at a time: rows are recorded in bulk
(:mod:`prism.storage.ledger_bulk`: the rules of a single write, change capture, the
projection folded as the rows come), so memory does not grow with the file. A row the
ledger refuses only at the end (a sell of more than was held at its date) is named with
its line and column; with ``skip_invalid`` the file is read again without it. A file
with any bad row imports nothing unless ``skip_invalid``; a dry run does everything,
then rolls back.
"""

from __future__ import annotations

import itertools
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Connection, select

from prism.domain.ids import EntryClock, imported_transaction_ids
from prism.domain.isin import parse_isin
from prism.domain.ledger import SECURITY_TYPES, LedgerEntry, TransactionType
from prism.domain.money import ZERO, canonical, parse_currency
from prism.errors import ConflictError, NotFoundError, ValidationError
from prism.imports.formats import FormatOptions, ImportFormat, ImportRow, RowNote, RowProblem, Source, get_format
from prism.imports.row_ids import RowIdentities, UnsortedRowsError
from prism.imports.transaction_assets import AssetResolver
from prism.storage.catalog import get_portfolio
from prism.storage.engine import Database
from prism.storage.ledger import EntryDetails
from prism.storage.ledger_bulk import (
    BulkRecording,
    BulkRowError,
    add_entries,
    begin_bulk,
    check_entry,
    finish_bulk,
    overdrawn_rows,
)
from prism.storage.tables import transactions

__all__ = ["ImportRejectedError", "ImportReport", "ImportRequest", "import_transactions"]

#: How many problems an error lists (it counts them all).
MAX_LISTED = 200
_CLOCK = EntryClock()
T = TypeVar("T")
#: Told how many rows have been read so far.
Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What to import: a file (its bytes, or its path to read as a stream) in a format, into a portfolio."""

    data: Source
    format: str
    portfolio_id: uuid.UUID
    options: FormatOptions = field(default_factory=FormatOptions)
    dry_run: bool = False
    skip_invalid: bool = False


@dataclass(slots=True)
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    format: str
    portfolio_id: uuid.UUID
    dry_run: bool
    rows: int = 0
    imported: int = 0
    already_imported: int = 0
    skipped: int = 0
    assets_created: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)


class ImportRejectedError(ValidationError):
    """A file with bad rows: nothing was imported; ``problems`` names each row, column and reason."""

    code = "invalid-import"

    def __init__(self, problems: Sequence[RowProblem], report: ImportReport) -> None:
        first = problems[0]
        super().__init__(
            f"{first.message} (and {len(problems) - 1} more)" if len(problems) > 1 else first.message, field=first.field
        )
        self.problems = list(problems[:MAX_LISTED])
        self.total = len(problems)
        self.report = report


#: Sells of more than was held are found once everything is folded, one per reading;
#: past this many the file is refused rather than read again and again.
_MAX_PASSES = 50
_CHUNK = 5_000


class _RollBack(Exception):
    """Raised inside the write to undo a dry run."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__()
        self.report = report


class _OversoldError(Exception):
    """A recorded row took out more than was held; ``ordinal``: its place in the file's items."""

    def __init__(self, ordinal: int, error: BulkRowError) -> None:
        super().__init__()
        self.ordinal = ordinal
        self.error = error


def _chunks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _static_problems(row: ImportRow) -> list[RowProblem]:
    """Problems visible in the row alone (before the ledger sees it)."""
    found: list[RowProblem] = []
    if row.isin is not None:
        try:
            parse_isin(row.isin)
        except ValidationError as error:
            found.append(RowProblem(row.where, row.column("isin"), error.message))
    elif row.symbol is None and (row.type in SECURITY_TYPES or row.type is TransactionType.DIVIDEND):
        found.append(RowProblem(row.where, row.column("isin"), f"is required for a {row.type.value}"))
    if row.currency is not None:
        try:
            parse_currency(row.currency)
        except ValidationError as error:
            found.append(RowProblem(row.where, row.column("currency"), error.message))
    return found


def _stored_ids(connection: Connection, owner_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    # Deleted rows count too: a transaction the user deleted is not brought back.
    t = transactions.c
    found: set[uuid.UUID] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(connection.scalars(select(t.id).where(t.owner_id == owner_id, t.id.in_(chunk))))
    return found


_ASSET_FIELDS = {"asset_id": "isin"}


def _problem(row: ImportRow, error: ValidationError | ConflictError) -> RowProblem:
    column = getattr(error, "field", None) or ""
    return RowProblem(row.where, row.column(_ASSET_FIELDS.get(column, column)), error.message)


@dataclass(slots=True)
class _Reading:
    """One reading of the file into the ledger (inside a savepoint the caller undoes on failure)."""

    connection: Connection
    owner_id: uuid.UUID
    source: ImportFormat
    request: ImportRequest
    base: str
    report: ImportReport
    #: Rows refused by an earlier reading (by their place among the file's items).
    excluded: dict[int, RowProblem]
    keep_all: bool
    progress: Progress | None
    #: Each recorded row's place among the file's items (8 bytes a row).
    ordinals: array[int] = field(default_factory=lambda: array("Q"))

    @property
    def writing(self) -> bool:
        """False once a bad row dooms the import: the rest is only checked."""
        return self.request.skip_invalid or not self.report.problems

    def items(self) -> Iterator[tuple[int, ImportRow, str]]:
        """The file's good rows with their external ids; problems and notes go to the report."""
        report, identities = self.report, RowIdentities(self.request.portfolio_id, keep_all=self.keep_all)
        last_bad = None
        for ordinal, item in enumerate(self.source.parse(self.request.data, self.request.options)):
            if isinstance(item, RowProblem):
                report.rows += item.where != last_bad
                last_bad = item.where
                report.problems.append(item)
                continue
            report.rows += 1
            if isinstance(item, RowNote):
                report.notes.append(item)
            elif ordinal not in self.excluded:
                problems = _static_problems(item)
                external = identities.external_id(item) if not problems else None
                if isinstance(external, RowProblem):
                    problems.append(external)
                report.problems.extend(problems)
                if isinstance(external, str):
                    yield ordinal, item, external

    def run(self) -> None:
        """Read, check and record every row; :class:`_OversoldError` for a sell found at the end."""
        bulk = begin_bulk(self.connection, self.owner_id)
        assets = AssetResolver(self.connection, self.owner_id, self.base)
        make_id = imported_transaction_ids(self.owner_id, self.source.source)
        done = 0
        for chunk in _chunks(self.items(), _CHUNK):
            self._take(bulk, assets, [(ordinal, row, external, make_id(external)) for ordinal, row, external in chunk])
            done += len(chunk)
            if self.progress is not None:
                self.progress(done)
        if not self.writing:
            self._report_oversells(bulk)
            return
        try:
            finish_bulk(self.connection, bulk)
        except BulkRowError as error:
            raise _OversoldError(self.ordinals[error.row], error) from None

    def _report_oversells(self, bulk: BulkRecording) -> None:
        """In a doomed import, name every row that took out more than was held, too."""
        rows = overdrawn_rows(bulk)
        if not rows:
            return
        wanted = {self.ordinals[row] for row in rows}
        for ordinal, item in enumerate(self.source.parse(self.request.data, self.request.options)):
            if ordinal in wanted and isinstance(item, ImportRow):
                units = canonical(item.quantity or ZERO)
                message = f"cannot take out {units} units: more than the portfolio holds on {item.date.isoformat()}"
                self.report.problems.append(RowProblem(item.where, item.column("quantity"), message))

    def _take(
        self, bulk: BulkRecording, assets: AssetResolver, chunk: list[tuple[int, ImportRow, str, uuid.UUID]]
    ) -> None:
        report = self.report
        stored = _stored_ids(self.connection, self.owner_id, [ident for *_, ident in chunk])
        kept: list[tuple[LedgerEntry, EntryDetails]] = []
        for ordinal, row, external, ident in chunk:
            if ident in stored:
                report.already_imported += 1
                continue
            try:
                entry = self._entry(row, ident, bulk, assets)
            except (ValidationError, ConflictError) as error:
                report.problems.append(_problem(row, error))
                continue
            if self.writing and entry.asset_id is not None and assets.save(entry.asset_id):
                report.assets_created += 1
            kept.append((entry, EntryDetails(self.source.source, external, row.note)))
            self.ordinals.append(ordinal)
            report.by_type[row.type.value] = report.by_type.get(row.type.value, 0) + 1
        add_entries(self.connection, bulk, kept, checked=True, store=self.writing)
        report.imported += len(kept)

    def _entry(self, row: ImportRow, ident: uuid.UUID, bulk: BulkRecording, assets: AssetResolver) -> LedgerEntry:
        asset = assets.resolve(row)
        if asset is not None and assets.is_unsaved(asset[0]):
            bulk.live_assets.add(asset[0])  # saved with the first row using it that is kept
        currency = parse_currency(row.currency) if row.currency else (asset[1] if asset else self.base)
        entry = LedgerEntry(
            id=ident,
            portfolio_id=self.request.portfolio_id,
            type=row.type,
            date=row.date,
            entry_order=_CLOCK.next(),
            currency=currency,
            asset_id=asset[0] if asset else None,
            quantity=row.quantity,
            price=row.price,
            amount=row.amount,
            fee=row.fee or ZERO,
            tax=row.tax or ZERO,
            fx_rate=row.fx_rate,
            ratio=row.ratio,
        )
        check_entry(bulk, entry)
        return entry


def _oversold_problem(request: ImportRequest, source: ImportFormat, oversold: _OversoldError) -> RowProblem:
    """The problem of the row at ``oversold.ordinal`` (the file is read up to it again)."""
    items = source.parse(request.data, request.options)
    row = next(itertools.islice(items, oversold.ordinal, None))
    assert isinstance(row, ImportRow)
    return _problem(row, oversold.error)


def _write(
    connection: Connection,
    owner_id: uuid.UUID,
    *,
    source: ImportFormat,
    request: ImportRequest,
    progress: Progress | None,
) -> ImportReport:
    try:
        base = get_portfolio(connection, owner_id, request.portfolio_id).base_currency
    except NotFoundError:
        raise ValidationError(f"no portfolio {request.portfolio_id}", field="portfolio_id") from None
    excluded: dict[int, RowProblem] = {}
    keep_all = False
    for _ in range(_MAX_PASSES):
        report = ImportReport(source.name, request.portfolio_id, request.dry_run)
        reading = _Reading(connection, owner_id, source, request, base, report, excluded, keep_all, progress)
        savepoint = connection.begin_nested()
        try:
            reading.run()
        except UnsortedRowsError:
            savepoint.rollback()
            keep_all = True  # read again, keeping every day's counters
            continue
        except _OversoldError as oversold:
            savepoint.rollback()
            excluded[oversold.ordinal] = _oversold_problem(request, source, oversold)
            if request.skip_invalid:
                continue
        else:
            savepoint.commit()
        report.problems.extend(excluded.values())
        _finish(report, request)
        return report
    raise ValidationError(f"more than {_MAX_PASSES} rows take out more than was held", field="file")


def _finish(report: ImportReport, request: ImportRequest) -> None:
    report.problems.sort(key=lambda p: _line_key(p.where))
    report.skipped = len({p.where for p in report.problems})
    if report.problems and not request.skip_invalid:
        report.imported = report.assets_created = 0
        report.by_type = {}
        raise ImportRejectedError(report.problems, report)
    if request.dry_run:
        raise _RollBack(report)


def _line_key(where: str) -> tuple[str, int]:
    head, _, number = where.rpartition(" ")
    if number.isdigit():
        return head, int(number)
    name, _, index = where.partition("[")
    return name, int(index.rstrip("]")) if index.rstrip("]").isdigit() else 0


async def import_transactions(
    database: Database,
    owner_id: uuid.UUID,
    request: ImportRequest,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``request`` for ``owner_id``; :class:`ImportRejectedError` when a row is bad."""
    import_format = get_format(request.format)
    try:
        return await database.write(_write, owner_id, source=import_format, request=request, progress=progress)
    except _RollBack as rolled_back:
        return rolled_back.report
