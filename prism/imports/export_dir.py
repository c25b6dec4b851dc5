"""Restoring a Prism export folder (``docs/export-format.md``) into an empty database.

Everything is checked before anything is written: the manifest's format, version and
file format, every table's file and SHA-256. Then one write transaction restores the
account and every table through :mod:`prism.storage.restore` (original ids and
timestamps, changes captured, projection rebuilt): a bad row anywhere writes nothing.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from prism.errors import ValidationError
from prism.export.files import file_sha256, read_table_file
from prism.export.layout import EXPORT_FORMAT, EXPORT_TABLES, EXPORT_VERSION, FILE_FORMATS, TableSpec
from prism.storage.engine import Database
from prism.storage.restore import RestoreClock, finish_restore, restore_account, restore_rows

__all__ = ["ExportManifest", "RestoreReport", "read_manifest", "restore_export"]

#: ``progress(table, rows restored so far, rows of the table)``.
Progress = Callable[[str, int, int], None]
_BATCH = 5_000


@dataclass(frozen=True, slots=True)
class ExportManifest:
    """A checked manifest: the file format and, per table in restore order, file and row count."""

    folder: Path
    file_format: str
    account_id: uuid.UUID
    tables: dict[str, tuple[Path, int]]


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What a restore brought in: the account and rows per table."""

    account_id: uuid.UUID
    file_format: str
    rows: dict[str, int]


def _field(manifest: dict[str, Any], name: str) -> Any:
    if name not in manifest:
        raise ValidationError(f"the manifest has no {name!r}", field=name)
    return manifest[name]


def read_manifest(folder: Path, *, verify: bool = True) -> ExportManifest:
    """The folder's checked manifest; ``verify`` also checks every file's SHA-256."""
    path = folder / "manifest.json"
    if not path.is_file():
        raise ValidationError(f"{folder} holds no manifest.json: not a Prism export", field="manifest")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValidationError(f"manifest.json is not JSON: {error}", field="manifest") from None
    if not isinstance(manifest, dict) or manifest.get("format") != EXPORT_FORMAT:
        raise ValidationError(f"manifest.json is not a {EXPORT_FORMAT} manifest", field="format")
    if _field(manifest, "version") != EXPORT_VERSION:
        raise ValidationError(f"export version {manifest['version']} is not supported (this reads 1)", field="version")
    file_format = _field(manifest, "file_format")
    if file_format not in FILE_FORMATS:
        raise ValidationError(f"unknown file format {file_format!r}", field="file_format")
    try:
        account_id = uuid.UUID(str(_field(manifest, "account_id")))
    except ValueError:
        raise ValidationError("account_id is not a UUID", field="account_id") from None
    listed = {entry.get("name"): entry for entry in _field(manifest, "tables") if isinstance(entry, dict)}
    tables: dict[str, tuple[Path, int]] = {}
    for spec in EXPORT_TABLES:
        entry = listed.pop(spec.name, None)
        if entry is None:
            raise ValidationError(f"the manifest lists no table {spec.name!r}", field="tables")
        file = folder / f"{spec.name}.{file_format}"
        if entry.get("file") != file.name or not file.is_file():
            raise ValidationError(f"{file.name} is missing", field="tables")
        if verify and file_sha256(file) != entry.get("sha256"):
            raise ValidationError(f"{file.name} does not match its SHA-256 in the manifest", field="sha256")
        rows = entry.get("rows")
        if not isinstance(rows, int) or rows < 0:
            raise ValidationError(f"the row count of {spec.name} is not a count", field="rows")
        tables[spec.name] = (file, rows)
    if listed:
        raise ValidationError(f"unknown tables in the manifest: {', '.join(map(str, listed))}", field="tables")
    return ExportManifest(folder, file_format, account_id, tables)


def _rows(spec: TableSpec, manifest: ExportManifest) -> Any:
    path, _ = manifest.tables[spec.name]
    readers = [c.read for c in spec.columns]
    names = spec.names
    for number, raw in enumerate(read_table_file(spec, manifest.file_format, path), start=1):
        where = f"{path.name} row {number}"
        yield {n: read(v, where) for n, read, v in zip(names, readers, raw, strict=True)}


def _restore(connection: Connection, manifest: ExportManifest, progress: Progress | None) -> RestoreReport:
    counts: dict[str, int] = {}
    accounts_spec, *synced = EXPORT_TABLES
    found = list(_rows(accounts_spec, manifest))
    if len(found) != 1 or found[0]["id"] != manifest.account_id:
        raise ValidationError("accounts must hold exactly the manifest's account", field="accounts")
    owner_id = restore_account(connection, found[0])
    counts["accounts"] = 1
    clock = RestoreClock(connection, owner_id)
    for spec in synced:
        expected = manifest.tables[spec.name][1]
        done, batch = 0, []
        for row in _rows(spec, manifest):
            batch.append(row)
            if len(batch) >= _BATCH:
                restore_rows(connection, owner_id, spec.name, batch, clock)
                done += len(batch)
                batch = []
                if progress is not None:
                    progress(spec.name, done, expected)
        restore_rows(connection, owner_id, spec.name, batch, clock)
        done += len(batch)
        if done != expected:
            raise ValidationError(f"{spec.name} holds {done} rows, the manifest says {expected}", field="rows")
        if progress is not None:
            progress(spec.name, done, expected)
        counts[spec.name] = done
    if progress is not None:
        progress("(rebuilding the positions projection)", 0, 1)
    finish_restore(connection, owner_id, clock)
    return RestoreReport(owner_id, manifest.file_format, counts)


async def restore_export(database: Database, folder: Path, progress: Progress | None = None) -> RestoreReport:
    """Restore the export in ``folder`` into ``database``, which must hold no account."""
    manifest = read_manifest(folder)
    return await database.write(_restore, manifest, progress)
