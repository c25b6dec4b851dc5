"""Importing a file of transactions: checked whole, written in one transaction, idempotent.

Every row gets a deterministic id (:func:`prism.domain.ids.imported_transaction_id`)
from the format's source and the row's external id: the file's own id when it has one,
else a hash of the row's normalised content (with the target portfolio) and an
occurrence counter, so identical rows stay distinct but a second import of the same file,
on this device or another, finds every id already stored and adds nothing.

Rows are recorded in bulk (:mod:`prism.storage.ledger_bulk`: the rules of a single
write, change capture, one projection rebuild), and a row the ledger refuses (a sell of
more than was held at its date) is reported with its line and column. A file with any bad row imports nothing unless
``skip_invalid``; a dry run does everything, then rolls back.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from prism.domain.ids import EntryClock, imported_transaction_id
from prism.domain.isin import parse_isin
from prism.domain.ledger import SECURITY_TYPES, LedgerEntry, TransactionType
from prism.domain.money import ZERO, canonical, parse_currency
from prism.errors import ConflictError, NotFoundError, ValidationError
from prism.imports.formats import FormatOptions, ImportFormat, ImportRow, RowNote, RowProblem, get_format
from prism.imports.transaction_assets import AssetResolver
from prism.storage.catalog import get_portfolio
from prism.storage.engine import Database
from prism.storage.ledger import EntryDetails
from prism.storage.ledger_bulk import BulkRowError, add_entries, begin_bulk, check_entry, finish_bulk
from prism.storage.tables import transactions

__all__ = [
    "ImportRejectedError",
    "ImportReport",
    "ImportRequest",
    "import_transactions",
    "row_external_ids",
]

#: How many problems an error lists (it counts them all).
MAX_LISTED = 200
_CLOCK = EntryClock()
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What to import: a file's bytes in a format, into a portfolio."""

    data: bytes
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


@dataclass(frozen=True, slots=True)
class _Pending:
    row: ImportRow
    entry: LedgerEntry
    details: EntryDetails


#: Sells of more than was held are judged after the fold, one per pass; past this many
#: the file is refused rather than folded again and again.
_MAX_PASSES = 50
_CHUNK = 10_000


class _RollBack(Exception):
    """Raised inside the write to undo a dry run."""


def _fingerprint(row: ImportRow, portfolio_id: uuid.UUID) -> str:
    if row.identity is not None:
        content = f"{portfolio_id}|{row.identity}"
    else:
        numbers = (row.quantity, row.price, row.amount, row.fee, row.tax, row.fx_rate, row.ratio)
        parts = [
            str(portfolio_id),
            row.type.value,
            row.date.isoformat(),
            (row.isin or "").strip().upper(),
            (row.symbol or "").strip().upper(),
            (row.currency or "").strip().upper(),
            *("" if n is None else canonical(n) for n in numbers),
            (row.note or "").strip(),
        ]
        content = "|".join(parts)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def row_external_ids(rows: Sequence[ImportRow], portfolio_id: uuid.UUID) -> tuple[list[str], list[RowProblem]]:
    """Each row's external id (its own, or content hash and occurrence), and duplicate file ids."""
    seen: Counter[str] = Counter()
    first_of: dict[str, str] = {}
    problems: list[RowProblem] = []
    result: list[str] = []
    for row in rows:
        if row.external_id is not None:
            own = row.external_id.strip()
            if own in first_of:
                problems.append(
                    RowProblem(
                        row.where, row.column("external_id"), f"id {own!r} appears twice (first at {first_of[own]})"
                    )
                )
            first_of.setdefault(own, row.where)
            result.append(own)
            continue
        digest = _fingerprint(row, portfolio_id)
        seen[digest] += 1
        result.append(f"h:{digest}:{seen[digest]}")
    return result, problems


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


@dataclass(slots=True)
class _Batch:
    rows: list[ImportRow]
    ids: list[uuid.UUID]
    external_ids: list[str]


def _entry(
    row: ImportRow, ident: uuid.UUID, portfolio_id: uuid.UUID, base: str, asset: tuple[uuid.UUID, str] | None
) -> LedgerEntry:
    currency = parse_currency(row.currency) if row.currency else (asset[1] if asset else base)
    return LedgerEntry(
        id=ident,
        portfolio_id=portfolio_id,
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


_ASSET_FIELDS = {"asset_id": "isin"}


def _problem(row: ImportRow, error: ValidationError | ConflictError) -> RowProblem:
    column = getattr(error, "field", None) or ""
    return RowProblem(row.where, row.column(_ASSET_FIELDS.get(column, column)), error.message)


def _entries(
    connection: Connection, owner_id: uuid.UUID, batch: _Batch, *, source: ImportFormat, base: str, report: ImportReport
) -> list[_Pending]:
    """The batch's new rows as entries, their assets found or created (bad rows reported)."""
    stored = _stored_ids(connection, owner_id, batch.ids)
    assets = AssetResolver(connection, owner_id, base)
    pending: list[_Pending] = []
    for row, ident, external in zip(batch.rows, batch.ids, batch.external_ids, strict=True):
        if ident in stored:
            report.already_imported += 1
            continue
        savepoint = connection.begin_nested()  # an asset created for a row that fails goes with it
        try:
            entry = _entry(row, ident, report.portfolio_id, base, assets.resolve(row))
        except (ValidationError, ConflictError) as error:
            savepoint.rollback()
            assets.forget_pending()
            report.problems.append(_problem(row, error))
            continue
        savepoint.commit()
        report.assets_created += assets.keep_pending()
        pending.append(_Pending(row, entry, EntryDetails(source.source, external, row.note)))
    return pending


def _record(
    connection: Connection,
    owner_id: uuid.UUID,
    pending: list[_Pending],
    report: ImportReport,
    progress: Progress | None,
) -> list[_Pending]:
    """Record ``pending`` in bulk; the rows recorded (bad ones reported and left out).

    Sells of more than was held are found only once everything is folded, one per
    pass: a pass that finds one is undone and run again without it.
    """
    for _ in range(_MAX_PASSES):
        savepoint = connection.begin_nested()
        bulk = begin_bulk(connection, owner_id)
        checked: list[_Pending] = []
        for done, item in enumerate(pending, 1):
            if progress is not None and (done % 2000 == 0 or done == len(pending)):
                progress(done, len(pending))
            try:
                check_entry(bulk, item.entry)
            except (ValidationError, ConflictError) as error:
                report.problems.append(_problem(item.row, error))
                continue
            bulk.recorded[item.entry.id] = -1  # seen: a repeated id in the file is refused
            checked.append(item)
        bulk.recorded.clear()
        for start in range(0, len(checked), _CHUNK):
            chunk = checked[start : start + _CHUNK]
            add_entries(connection, bulk, [(item.entry, item.details) for item in chunk], checked=True)
        try:
            finish_bulk(connection, bulk)
        except BulkRowError as error:
            savepoint.rollback()
            report.problems.append(_problem(checked[error.row].row, error))
            pending = [item for number, item in enumerate(checked) if number != error.row]
            continue
        savepoint.commit()
        return checked
    report.problems.append(RowProblem("file", "", f"more than {_MAX_PASSES} rows take out more than was held"))
    return []


def _write(
    connection: Connection,
    owner_id: uuid.UUID,
    batch: _Batch,
    *,
    source: ImportFormat,
    request: ImportRequest,
    report: ImportReport,
    progress: Progress | None,
) -> ImportReport:
    try:
        base = get_portfolio(connection, owner_id, request.portfolio_id).base_currency
    except NotFoundError:
        raise ValidationError(f"no portfolio {request.portfolio_id}", field="portfolio_id") from None
    pending = _entries(connection, owner_id, batch, source=source, base=base, report=report)
    for item in _record(connection, owner_id, pending, report, progress):
        report.imported += 1
        kind = item.row.type.value
        report.by_type[kind] = report.by_type.get(kind, 0) + 1
    _finish(report, request)
    return report


def _finish(report: ImportReport, request: ImportRequest) -> None:
    report.problems.sort(key=lambda p: _line_key(p.where))
    bad_rows = {p.where for p in report.problems}
    report.skipped = len(bad_rows)
    if report.problems and not request.skip_invalid:
        report.imported = report.assets_created = 0
        report.by_type = {}
        raise ImportRejectedError(report.problems, report)
    if request.dry_run:
        raise _RollBack


def _line_key(where: str) -> tuple[str, int]:
    head, _, number = where.rpartition(" ")
    if number.isdigit():
        return head, int(number)
    name, _, index = where.partition("[")
    return name, int(index.rstrip("]")) if index.rstrip("]").isdigit() else 0


def _prepare(owner_id: uuid.UUID, import_format: ImportFormat, request: ImportRequest, report: ImportReport) -> _Batch:
    rows: list[ImportRow] = []
    for item in import_format.parse(request.data, request.options):
        if isinstance(item, ImportRow):
            problems = _static_problems(item)
            report.problems.extend(problems)
            if not problems:
                rows.append(item)
        elif isinstance(item, RowNote):
            report.notes.append(item)
        else:
            report.problems.append(item)
    report.rows = len(rows) + len(report.notes) + len({p.where for p in report.problems})
    external, duplicates = row_external_ids(rows, request.portfolio_id)
    report.problems.extend(duplicates)
    duplicate_rows = {p.where for p in duplicates}
    kept = [(row, ext) for row, ext in zip(rows, external, strict=True) if row.where not in duplicate_rows]
    # Date order, file order within a day: each entry then folds into the projection
    # without replaying the asset's history (a backdated entry would).
    kept.sort(key=lambda pair: pair[0].date)
    ids = [imported_transaction_id(owner_id, import_format.source, ext) for _, ext in kept]
    return _Batch([row for row, _ in kept], ids, [ext for _, ext in kept])


async def import_transactions(
    database: Database,
    owner_id: uuid.UUID,
    request: ImportRequest,
    *,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``request`` for ``owner_id``; :class:`ImportRejectedError` when a row is bad."""
    import_format = get_format(request.format)
    report = ImportReport(import_format.name, request.portfolio_id, request.dry_run)
    batch = await asyncio.to_thread(_prepare, owner_id, import_format, request, report)
    try:
        return await database.write(
            _write, owner_id, batch, source=import_format, request=request, report=report, progress=progress
        )
    except _RollBack:
        return report
