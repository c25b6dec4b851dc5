"""Routes of data imports: ``POST /imports``, a file of transactions into a portfolio.

The body carries the file itself (``content`` as text, or ``content_base64``), its
``format`` and the target ``portfolio_id``. The answer is the import's report (201, or
200 for a dry run). A file with a bad row answers 422 naming every bad row and column
in ``errors`` and writes nothing, unless ``skip_invalid``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.params import JSONBody
from litestar.types import ControllerRouterHandler

from prism.api.problems import problem
from prism.api.state import owner_of, state_of
from prism.errors import ValidationError
from prism.imports.formats import FormatOptions
from prism.imports.transactions import ImportRejectedError, ImportReport, ImportRequest, import_transactions

__all__ = ["IMPORTS_ROUTES", "ImportIn", "ImportProblemOut", "ImportReportOut", "import_file"]


class ImportIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A file of transactions to import; exactly one of ``content`` and ``content_base64``."""

    format: str
    portfolio_id: uuid.UUID
    content: str | None = None
    content_base64: str | None = None
    dry_run: bool = False
    skip_invalid: bool = False
    #: Date of opening positions (the ``broker`` format); today when absent.
    date: dt.date | None = None
    #: Currency of rows that name none.
    currency: str | None = None

    def __post_init__(self) -> None:
        for name in ("format", "content", "currency"):
            if "\x00" in (getattr(self, name) or ""):
                # Named the way msgspec names a field, so the 400 names it too.
                raise ValueError(f"text must not contain NUL characters - at `$.{name}`")


class ImportProblemOut(msgspec.Struct, kw_only=True):
    """A bad row: where (``line 14``), the file's column, and why."""

    row: str
    column: str
    message: str


class ImportNoteOut(msgspec.Struct, kw_only=True):
    """A row left out on purpose, and why."""

    row: str
    message: str


class ImportReportOut(msgspec.Struct, kw_only=True):
    """What the import wrote (or, in a dry run, would write)."""

    format: str
    portfolio_id: uuid.UUID
    dry_run: bool
    rows: int
    imported: int
    already_imported: int
    skipped: int
    assets_created: int
    by_type: dict[str, int]
    problems: list[ImportProblemOut]
    notes: list[ImportNoteOut]


def _report(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        format=report.format,
        portfolio_id=report.portfolio_id,
        dry_run=report.dry_run,
        rows=report.rows,
        imported=report.imported,
        already_imported=report.already_imported,
        skipped=report.skipped,
        assets_created=report.assets_created,
        by_type=dict(report.by_type),
        problems=[ImportProblemOut(row=p.where, column=p.column, message=p.message) for p in report.problems],
        notes=[ImportNoteOut(row=n.where, message=n.message) for n in report.notes],
    )


def _content(data: ImportIn) -> bytes:
    if (data.content is None) == (data.content_base64 is None):
        raise ValidationError("give exactly one of content and content_base64", field="content")
    if data.content is not None:
        return data.content.encode()
    try:
        return base64.b64decode(data.content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError("is not base64", field="content_base64") from None


@post(
    "/imports",
    tags=["imports"],
    summary="Import a file of transactions",
    response_description="The import's report: rows imported, already imported, skipped and why",
)
async def import_file(request: Request[Any, Any, Any], data: JSONBody[ImportIn]) -> Response[Any]:
    """Import a broker's or tracker's file into a portfolio: all or nothing, and idempotent."""
    state = state_of(request)
    wanted = ImportRequest(
        _content(data),
        data.format,
        data.portfolio_id,
        FormatOptions(date=data.date, currency=data.currency),
        dry_run=data.dry_run,
        skip_invalid=data.skip_invalid,
    )
    try:
        report = await import_transactions(state.database, owner_of(request), wanted)
    except ImportRejectedError as error:
        # Every bad row, not only the first: a client fixes the file in one go.
        errors = [{"field": p.field, "message": p.message} for p in error.problems]
        return problem(422, error.code, "Invalid input", f"nothing imported: {error.total} problem(s)", errors)
    return Response(_report(report), status_code=200 if report.dry_run else 201)


IMPORTS_ROUTES: list[ControllerRouterHandler] = [import_file]
