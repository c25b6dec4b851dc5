"""``prism export`` and ``prism import export-dir`` end to end, on both databases."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from prism.cli import main


def _prism(*args: str, database_url: str, data_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--data-dir", str(data_dir), "--database-url", database_url, *args], env={"COLUMNS": "160"}
    )
    return result.exit_code, result.output


def test_export_then_restore_into_an_empty_database_and_refuse_a_full_one(
    database_url: str, second_database_url: str, tmp_path: Path
) -> None:
    code, output = _prism(
        "demo", "--scale", "0.02", "--no-serve", "--no-market", database_url=database_url, data_dir=tmp_path / "a"
    )
    assert code == 0, output
    out = tmp_path / "export"
    code, output = _prism("export", "--format", "csv", str(out), database_url=database_url, data_dir=tmp_path / "a")
    assert code == 0, output
    assert "transactions" in output
    assert "sha256" in output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["file_format"] == "csv"
    rows = {t["name"]: t["rows"] for t in manifest["tables"]}
    code, output = _prism("import", "export-dir", str(out), database_url=second_database_url, data_dir=tmp_path / "b")
    assert code == 0, output
    assert f"{rows['transactions']:,}" in output
    assert "positions rebuilt" in output
    code, before = _prism("holdings", database_url=database_url, data_dir=tmp_path / "a")
    code, after = _prism("holdings", database_url=second_database_url, data_dir=tmp_path / "b")
    assert code == 0
    assert after == before
    code, output = _prism("import", "export-dir", str(out), database_url=database_url, data_dir=tmp_path / "a")
    assert code == 1
    assert "the database is not empty" in output
    code, output = _prism("export", str(out), database_url=database_url, data_dir=tmp_path / "a")
    assert code == 1
    assert "not an empty folder" in output
