"""Writing an account's export: one read transaction, one file per table, the manifest.

The folder is written beside its destination and renamed into place at the end, so
a failed export leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, String, func, select, type_coerce

from prism.errors import NotFoundError, ValidationError
from prism.export.files import file_sha256, open_writer
from prism.export.layout import EXPORT_FORMAT, EXPORT_TABLES, EXPORT_VERSION, FILE_FORMATS, TableSpec, timestamp_text
from prism.migrations import head_revision
from prism.storage.engine import Database

__all__ = ["ExportReport", "Progress", "count_rows", "export_account", "exported_rows", "write_export"]

#: ``progress(table, rows written so far, rows of the table)``.
Progress = Callable[[str, int, int], None]
_PAGE = 5_000


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote: per table, its file, row count and SHA-256."""

    folder: Path
    file_format: str
    tables: list[dict[str, Any]]


def _owner_clause(spec: TableSpec, owner_id: uuid.UUID) -> Any:
    table = spec.table
    return table.c.id == owner_id if spec.name == "accounts" else table.c.owner_id == owner_id


def count_rows(connection: Connection, owner_id: uuid.UUID) -> dict[str, int]:
    """The number of exported rows per table."""
    counts = {}
    for spec in EXPORT_TABLES:
        query = select(func.count()).select_from(spec.table).where(_owner_clause(spec, owner_id))
        counts[spec.name] = int(connection.scalar(query) or 0)
    return counts


def _uuid_from_stored(text: str) -> str:
    if len(text) != 32:  # not SQLAlchemy's 32 hex digits: parse it
        return str(uuid.UUID(text))
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}".lower()


def _timestamp_from_stored(text: str) -> str:
    if len(text) != 26:  # not SQLAlchemy's "YYYY-MM-DD HH:MM:SS.ffffff": parse it
        stamp = dt.datetime.fromisoformat(text)
        return timestamp_text(stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC))
    return f"{text[:10]}T{text[11:]}Z"


_FROM_STORED = {"uuid": _uuid_from_stored, "timestamp": _timestamp_from_stored}


def _stored_columns(spec: TableSpec, dialect: str) -> tuple[list[Any], list[Callable[[Any], Any]]]:
    """The columns to select and each one's conversion to its exported form.

    SQLite stores ids as 32 lowercase hex digits and UTC timestamps as text, both
    nearly in their exported form: they are read as stored, without the round trip
    through ``UUID`` and ``datetime`` objects that costs most of an export.
    """
    columns: list[Any] = []
    writers: list[Callable[[Any], Any]] = []
    for column in spec.columns:
        stored = spec.table.c[column.name]
        if dialect == "sqlite" and column.kind in _FROM_STORED:
            columns.append(type_coerce(stored, String))
            writers.append(_FROM_STORED[column.kind])
        else:
            columns.append(stored)
            writers.append(column.writer)
    return columns, writers


def exported_rows(connection: Connection, owner_id: uuid.UUID, spec: TableSpec) -> Iterator[list[tuple[Any, ...]]]:
    """The owner's rows of one table in exported form and key order, in pages."""
    table = spec.table
    columns, writers = _stored_columns(spec, connection.dialect.name)
    query = select(*columns).where(_owner_clause(spec, owner_id))

    def exported(row: Any) -> tuple[Any, ...]:
        return tuple([None if v is None else w(v) for w, v in zip(writers, row, strict=True)])

    if spec.key == "key":
        # Settings are few; Python's code-point order is the same on every database.
        rows = sorted(connection.execute(query).all(), key=lambda row: row[0])
        yield [exported(row) for row in rows]
        return
    # A UUID's byte order (PostgreSQL) equals the order of its lowercase hex (SQLite).
    result = connection.execute(query.order_by(table.c.id).execution_options(yield_per=_PAGE))
    for page in result.partitions(_PAGE):
        yield [exported(row) for row in page]


def write_export(
    connection: Connection, owner_id: uuid.UUID, folder: Path, file_format: str, progress: Progress | None = None
) -> ExportReport:
    """Write the owner's tables and the manifest into the existing, empty ``folder``."""
    counts = count_rows(connection, owner_id)
    if not counts["accounts"]:
        raise NotFoundError(f"no account {owner_id}")
    tables = []
    for spec in EXPORT_TABLES:
        name = f"{spec.name}.{file_format}"
        path = folder / name
        done = 0
        with path.open("wb") as out:
            writer = open_writer(spec, file_format, out)
            for page in exported_rows(connection, owner_id, spec):
                writer.write(page)
                done += len(page)
                if progress is not None:
                    progress(spec.name, done, counts[spec.name])
            writer.close()
        if progress is not None:
            progress(spec.name, done, done)
        columns = [{"name": c.name, "type": c.kind, "nullable": c.nullable} for c in spec.columns]
        tables.append({"name": spec.name, "file": name, "rows": done, "sha256": file_sha256(path), "columns": columns})
    manifest = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "created_at": timestamp_text(dt.datetime.now(dt.UTC)),
        "account_id": str(owner_id),
        "database_revision": head_revision(),
        "file_format": file_format,
        "tables": tables,
    }
    text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
    (folder / "manifest.json").write_text(text, encoding="utf-8")
    return ExportReport(folder, file_format, tables)


async def export_account(
    database: Database, owner_id: uuid.UUID, out: Path, file_format: str, progress: Progress | None = None
) -> ExportReport:
    """Export the owner's data into the new folder ``out``, all or nothing."""
    if file_format not in FILE_FORMATS:
        raise ValidationError(f"must be one of {', '.join(FILE_FORMATS)}", field="format")
    staging = await asyncio.to_thread(_staging, out)
    try:
        report = await database.read(write_export, owner_id, staging, file_format, progress)
        await asyncio.to_thread(staging.replace, out)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, staging, ignore_errors=True)
        raise
    return ExportReport(out, report.file_format, report.tables)


def _staging(out: Path) -> Path:
    """A new folder beside ``out``, which must not exist or be an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValidationError(f"{out} already exists and is not an empty folder", field="out")
    out.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
