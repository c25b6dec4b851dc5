"""Restoring an export: only into an empty database, all or nothing, and captured for sync."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from prism.errors import ConflictError, ValidationError
from prism.export.files import file_sha256
from prism.export.write import export_account
from prism.imports.export_dir import restore_export
from prism.storage.catalog import create_account
from prism.storage.engine import Database
from prism.storage.tables import SYNCED_TABLES, accounts, changes, transactions
from prism.sync.merge import apply_changes, changes_since


def _count(connection: Connection, table: Any) -> int:
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


async def _nothing_restored(db: Database) -> bool:
    counts = await db.read(lambda c: [_count(c, t) for t in (accounts, changes, transactions)])
    return counts == [0, 0, 0]


async def test_a_database_that_holds_an_account_is_refused(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "json")).folder
    other = await target.write(create_account, "already here")
    with pytest.raises(ConflictError, match="not empty"):
        await restore_export(target, folder)
    assert await target.read(lambda c: list(c.execute(select(accounts.c.id)).scalars())) == [other]
    assert await target.read(_count, transactions) == 0


async def test_restoring_into_the_source_itself_is_refused(source: tuple[Database, uuid.UUID], tmp_path: Path) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "parquet")).folder
    with pytest.raises(ConflictError, match="not empty"):
        await restore_export(db, folder)


async def test_restored_rows_are_captured_and_sync_to_another_device(
    source: tuple[Database, uuid.UUID], target: Database, peer: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "csv")).folder
    report = await restore_export(target, folder)
    synced_rows = sum(report.rows[t.name] for t in SYNCED_TABLES)
    logged = await target.read(changes_since, owner)
    assert len(logged) == synced_rows
    assert {c.op for c in logged} == {"insert"}
    assert len({(c.table, c.row_id) for c in logged}) == synced_rows  # one change per restored row
    # Another device that merges the restored log holds the same rows (stamps aside:
    # a merge derives them from the changes' clocks).
    await peer.write(create_account, "peer", account_id=owner)
    await peer.write(apply_changes, owner, logged)
    restored = await export_account(target, owner, tmp_path / "restored", "json")
    merged = await export_account(peer, owner, tmp_path / "merged", "json")
    for table in SYNCED_TABLES:
        mine = _without_stamps(restored.folder / f"{table.name}.json")
        theirs = _without_stamps(merged.folder / f"{table.name}.json")
        assert mine == theirs, table.name
        assert len(mine) == report.rows[table.name]


def _without_stamps(path: Path) -> list[dict[str, Any]]:
    rows = json.loads(path.read_text())
    return [{k: v for k, v in row.items() if k not in {"created_at", "updated_at"}} for row in rows]


async def test_a_file_that_does_not_match_its_checksum_restores_nothing(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "json")).folder
    path = folder / "transactions.json"
    path.write_bytes(path.read_bytes().replace(b'"fee":"0"', b'"fee":"1"', 1))
    with pytest.raises(ValidationError, match=r"transactions\.json does not match its SHA-256"):
        await restore_export(target, folder)
    assert await _nothing_restored(target)


async def test_a_bad_value_names_file_row_and_column_and_restores_nothing(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "csv")).folder
    path = folder / "transactions.csv"
    lines = path.read_text().split("\n")
    row = next(n for n, line in enumerate(lines) if ',"20000",' in line)  # the header is line 0
    lines[row] = lines[row].replace(',"20000",', ',"12,5",', 1)  # a decimal comma: not an exported decimal
    path.write_text("\n".join(lines))
    manifest = json.loads((folder / "manifest.json").read_text())
    for table in manifest["tables"]:
        if table["name"] == "transactions":
            table["sha256"] = file_sha256(path)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValidationError, match=rf"transactions\.csv row {row}: amount is not a valid decimal") as caught:
        await restore_export(target, folder)
    assert caught.value.field == "amount"
    assert await _nothing_restored(target)


async def test_a_folder_without_a_manifest_is_not_an_export(target: Database, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"no manifest\.json"):
        await restore_export(target, tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "prism-export", "version": 2}))
    with pytest.raises(ValidationError, match="version 2 is not supported"):
        await restore_export(target, tmp_path)


async def test_json_files_written_by_another_program_restore_the_same(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "json")).folder
    originals = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "manifest.json"}
    manifest = json.loads((folder / "manifest.json").read_text())
    for table in manifest["tables"]:  # pretty-printed, as another program might write them
        path = folder / table["file"]
        path.write_text(json.dumps(json.loads(path.read_text()), indent=4, ensure_ascii=True))
        table["sha256"] = file_sha256(path)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    await restore_export(target, folder)
    again = (await export_account(target, owner, tmp_path / "again", "json")).folder
    assert {p.name: p.read_bytes() for p in again.iterdir() if p.name != "manifest.json"} == originals
