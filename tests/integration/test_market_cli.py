"""``prism market import`` end to end on a device data folder (SQLite, folder lake)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from click.testing import CliRunner

from prism.analytics.market import read_prices
from prism.config import LakeSettings
from prism.storage.lake import PRICES, open_lake

APPLE, WORLD = "US0378331005", "IE00B4L5Y983"


def _prism(tmp_path: Path, *args: str) -> tuple[int, str]:
    from prism.cli import main

    url = f"sqlite:///{tmp_path / 'prism.db'}"
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", url, *args], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def _closes(tmp_path: Path) -> list[tuple[str, dt.date, Decimal]]:
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        return [(p.isin, p.date, p.close) for p in read_prices(lake)]
    finally:
        lake.close()


def _version(tmp_path: Path) -> int:
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    try:
        return lake.manifest(PRICES).version
    finally:
        lake.close()


def test_a_spreadsheet_export_imports_and_the_report_is_shown(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_bytes(
        f"\ufeffISIN;Datum;Date;Close\r\n{APPLE};x;2024-01-02;185,64\r\n\r\n{APPLE};x;2024-01-03;1.184,25\r\n".encode()
    )
    code, output = _prism(tmp_path, "market", "import", "prices", str(path), "--currency", "usd")
    assert code == 0, output
    assert "no account yet" in output
    assert "Imported closes.csv into prices" in output
    assert "dataset version │ 1" in output
    assert "ignored column(s) 'Datum'" in output
    assert _closes(tmp_path) == [
        (APPLE, dt.date(2024, 1, 2), Decimal("185.64")),
        (APPLE, dt.date(2024, 1, 3), Decimal("1184.25")),
    ]
    code, output = _prism(tmp_path, "market", "import", "prices", str(path), "--currency", "USD")
    assert code == 0, output
    assert "dataset version │ 2" in output
    assert len(_closes(tmp_path)) == 2


def test_a_rejected_file_exits_non_zero_lists_the_problems_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_text(f"isin,date,close,currency\n{APPLE},2024-01-02,-1,USD\n{APPLE},2024-01-02,2,USD\n")
    code, output = _prism(tmp_path, "market", "import", "prices", str(path))
    assert code == 1
    assert "line 2: close" in output
    assert "must be positive, not -1" in output
    assert "repeats the ISIN and date of line 2" in output
    assert "nothing imported: 2 problem(s)" in output
    assert _version(tmp_path) == 0


def test_a_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_text(f"isin,date,close\n{APPLE},2024-01-02,1\n")
    code, output = _prism(tmp_path, "market", "import", "prices", str(path))
    assert code == 1
    assert "the file has no currency column" in output


def test_parquet_etf_holdings_import_against_the_demo_catalog(tmp_path: Path) -> None:
    code, output = _prism(tmp_path, "demo", "--scale", "0.02", "--no-serve", "--no-market")
    assert code == 0, output
    path = tmp_path / "world.parquet"
    table = pa.table(
        {
            "fund": ["LU0000000009", "LU0000000009"],
            "as_of": pa.array([dt.date(2024, 6, 28)] * 2, pa.date32()),
            "name": ["Apple", "Cash"],
            "weight_pct": pa.array([Decimal("60.5"), Decimal("39.5")], pa.decimal128(10, 4)),
        }
    )
    pq.write_table(table, path)
    code, output = _prism(tmp_path, "market", "import", "etf-holdings", str(path))
    assert code == 0, output
    assert "rows            │ 2" in output
    assert "no asset in the catalog has ISIN LU0000000009" in output
    assert "no account yet" not in output
