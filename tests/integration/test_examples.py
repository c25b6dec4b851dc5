"""The scripts in examples/ run, as their own processes, against a real device server on both databases."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from prism.api import create_app
from prism.config import load_settings
from tests.serving import served_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STATEMENT = (
    "date,type,isin,name,quantity,price,amount,tax,currency,id\n"
    "2023-12-01,buy,IE00B4L5Y983,iShares Core MSCI World,10,80,,,EUR,S1\n"
    "2024-01-02,buy,US0378331005,Apple,5,150,,,EUR,S2\n"
    "2023-12-20,dividend,IE00B4L5Y983,iShares Core MSCI World,,,3.00,,EUR,S3\n"
    "2024-03-15,dividend,IE00B4L5Y983,iShares Core MSCI World,,,12.34,1.85,EUR,S4\n"
    "2024-09-16,dividend,IE00B4L5Y983,iShares Core MSCI World,,,10.01,1.50,EUR,S5\n"
    "2024-05-16,dividend,US0378331005,Apple,,,1.20,0.18,EUR,S6\n"
)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A device server: its URL and its token file."""
    settings = load_settings({}, data_dir=tmp_path / "device", database_url=database_url)
    with served_app(create_app(settings)) as url:
        yield url, settings.token_path


def _run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _import(url: str, token: Path, statement: Path) -> subprocess.CompletedProcess[str]:
    return _run("nightly_import.py", str(statement), "--portfolio", "Broker", "--url", url, "--token-file", str(token))


def test_the_nightly_import_imports_once_and_then_nothing_twice(server: tuple[str, Path], tmp_path: Path) -> None:
    url, token = server
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT, encoding="utf-8")
    first, second = _import(url, token, statement), _import(url, token, statement)
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert json.loads(first.stdout) | {"file": ""} == {
        "file": "",
        "status": "imported",
        "portfolio": "Broker",
        "rows": 6,
        "imported": 6,
        "already_imported": 0,
        "skipped": 0,
        "assets_created": 2,
    }
    assert (json.loads(second.stdout)["imported"], json.loads(second.stdout)["already_imported"]) == (0, 6)


def test_the_nightly_import_lists_bad_rows_and_imports_nothing(server: tuple[str, Path], tmp_path: Path) -> None:
    url, token = server
    statement = tmp_path / "bad.csv"
    statement.write_text(STATEMENT.replace("10,80", "ten,80"), encoding="utf-8")
    refused = _import(url, token, statement)
    assert refused.returncode == 1
    assert "line 2" in refused.stderr
    assert "quantity" in refused.stderr
    assert json.loads(refused.stdout)["status"] == "refused"


def test_the_nightly_import_says_when_the_server_is_unreachable(tmp_path: Path) -> None:
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT, encoding="utf-8")
    token = tmp_path / "token"
    token.write_text("t\n")
    failed = _import("http://127.0.0.1:9", token, statement)
    assert failed.returncode == 2
    assert "unreachable" in failed.stderr


def test_the_dividend_report_sums_each_asset_in_its_currency(server: tuple[str, Path], tmp_path: Path) -> None:
    url, token = server
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT, encoding="utf-8")
    assert _import(url, token, statement).returncode == 0
    report = _run("dividend_report.py", "2024", "--json", "--url", url, "--token-file", str(token))
    assert report.returncode == 0, report.stderr
    lines = [json.loads(line) for line in report.stdout.splitlines()]
    assert [(line["isin"], line["payments"], Decimal(line["gross"]), Decimal(line["tax"])) for line in lines] == [
        ("IE00B4L5Y983", 2, Decimal("22.35"), Decimal("3.35")),
        ("US0378331005", 1, Decimal("1.20"), Decimal("0.18")),
    ]
    assert Decimal(lines[0]["net"]) == Decimal("19.00")


def test_the_dividend_report_prints_a_table_with_totals(server: tuple[str, Path], tmp_path: Path) -> None:
    url, token = server
    statement = tmp_path / "statement.csv"
    statement.write_text(STATEMENT, encoding="utf-8")
    assert _import(url, token, statement).returncode == 0
    table = _run("dividend_report.py", "2023", "--portfolio", "Broker", "--url", url, "--token-file", str(token))
    assert table.returncode == 0, table.stderr
    rows = table.stdout.splitlines()
    assert rows[0].split() == ["asset", "isin", "ccy", "n", "gross", "tax", "net"]
    assert rows[1].split()[-6:] == ["IE00B4L5Y983", "EUR", "1", "3", "0", "3"]
    assert rows[-1].split() == ["total", "net", "EUR", "3"]
