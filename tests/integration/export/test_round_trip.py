"""Export -> empty database -> restore -> export gives the same files, on both databases
and in every format; what the files hold is exact."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from prism.export.layout import EXPORT_TABLES, FILE_FORMATS
from prism.export.write import export_account
from prism.imports.export_dir import restore_export
from prism.storage.catalog import list_portfolios
from prism.storage.engine import Database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.projection import rebuild_owner


def _manifest_without_stamp(folder: Path) -> dict[str, object]:
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["created_at"].endswith("Z")
    del manifest["created_at"]
    return manifest  # type: ignore[no-any-return]


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "manifest.json"}


async def _holdings(db: Database, owner: uuid.UUID) -> list[object]:
    found: list[object] = []
    for portfolio in await db.read(list_portfolios, owner):
        found.append(await db.read(read_holdings, owner, portfolio_id=portfolio.id))
        found.append(await db.read(read_cash, owner, portfolio_id=portfolio.id))
    return found


@pytest.mark.parametrize("file_format", FILE_FORMATS)
async def test_export_restore_export_gives_identical_files(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path, file_format: str
) -> None:
    db, owner = source
    first = await export_account(db, owner, tmp_path / "first", file_format)
    report = await restore_export(target, first.folder)
    assert report.account_id == owner
    second = await export_account(target, owner, tmp_path / "second", file_format)
    assert _files(first.folder) == _files(second.folder)
    assert _manifest_without_stamp(first.folder) == _manifest_without_stamp(second.folder)
    assert sorted(_files(first.folder)) == sorted(f"{spec.name}.{file_format}" for spec in EXPORT_TABLES)
    # The projection was rebuilt: the restored account holds what the original's rebuild holds.
    await db.write(rebuild_owner, owner)
    assert await _holdings(target, owner) == await _holdings(db, owner)


async def test_the_three_formats_hold_the_same_values(source: tuple[Database, uuid.UUID], tmp_path: Path) -> None:
    db, owner = source
    folders = {f: (await export_account(db, owner, tmp_path / f, f)).folder for f in FILE_FORMATS}
    for spec in EXPORT_TABLES:
        from_json = json.loads((folders["json"] / f"{spec.name}.json").read_text())
        with (folders["csv"] / f"{spec.name}.csv").open(newline="") as handle:
            from_csv = list(csv.DictReader(handle))
        from_parquet = pq.read_table(folders["parquet"] / f"{spec.name}.parquet").to_pylist()
        assert len(from_json) == len(from_csv) == len(from_parquet)
        for j, c, p in zip(from_json, from_csv, from_parquet, strict=True):
            assert list(j) == list(c) == list(p) == list(spec.names)
            for column in spec.columns:
                value = p[column.name]
                if column.kind == "integer":
                    assert j[column.name] == c[column.name] == (None if value is None else str(value))
                elif column.kind == "json":
                    assert json.dumps(j[column.name], sort_keys=True) == json.dumps(json.loads(value), sort_keys=True)
                elif column.kind != "boolean":
                    assert j[column.name] == value


async def test_exported_values_are_exact_text(source: tuple[Database, uuid.UUID], tmp_path: Path) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "out", "json")).folder
    rows = json.loads((folder / "transactions.json").read_text())
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids)  # key order
    buy = next(row for row in rows if row["external_id"] == "ext-1")
    assert buy["quantity"] == "0.000000000123456789"
    assert buy["price"] == "123456789.987654321"
    assert buy["note"] == 'a "note",\r\nwith lines'
    assert buy["created_at"].endswith("Z")
    assert len(buy["created_at"]) == len("2024-01-01T00:00:00.000000Z")
    assert str(uuid.UUID(buy["id"])) == buy["id"]
    assert isinstance(buy["entry_order"], str)
    tombstones = [row for row in rows if row["deleted_at"] is not None]
    assert [row["note"] for row in tombstones] == ["deleted later"]
    empty = next(row for row in rows if row["source"] == "")
    assert empty["note"] == ""
    assert empty["external_id"] == ""
    settings = json.loads((folder / "settings.json").read_text())
    assert [s["key"] for s in settings] == ["ui.a-b", "ui.a.b", "ui.a_b", "ui.gone", "ui.theme"]  # code-point order
    assert json.loads((folder / "accounts.json").read_text())[0]["id"] == str(owner)
    rules = json.loads((folder / "alert_rules.json").read_text())
    assert sorted(r["threshold"] for r in rules) == ["0.5", "1000"]


async def test_csv_keeps_empty_text_apart_from_null(
    source: tuple[Database, uuid.UUID], target: Database, tmp_path: Path
) -> None:
    db, owner = source
    folder = (await export_account(db, owner, tmp_path / "csv", "csv")).folder
    lines = (folder / "settings.csv").read_text().splitlines()
    assert any(line.startswith('"ui.a_b","string",""') for line in lines)
    await restore_export(target, folder)
    back = (await export_account(target, owner, tmp_path / "back", "json")).folder
    rows = json.loads((back / "transactions.json").read_text())
    empty = next(row for row in rows if row["source"] == "")
    assert empty["note"] == ""
    assert empty["fx_rate"] is None


async def test_an_existing_destination_with_files_is_refused(
    source: tuple[Database, uuid.UUID], tmp_path: Path
) -> None:
    db, owner = source
    out = tmp_path / "taken"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    from prism.errors import ValidationError

    with pytest.raises(ValidationError, match="not an empty folder"):
        await export_account(db, owner, out, "csv")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".taken")] == []
