"""``prism import transactions`` end to end on a device data folder (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

WORLD, APPLE = "IE00B4L5Y983", "US0378331005"


def _prism(tmp_path: Path, *args: str) -> tuple[int, str]:
    from prism.cli import main

    url = f"sqlite:///{tmp_path / 'prism.db'}"
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", url, *args], env={"COLUMNS": "200"}
    )
    return result.exit_code, result.output


def _value(output: str, label: str) -> str:
    """The value beside ``label`` in the summary table."""
    for line in output.splitlines():
        cells = [cell.strip() for cell in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[0] == label:
            return cells[1]
    raise AssertionError(f"no {label!r} in the summary:\n{output}")


def _file(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


def test_a_generic_file_imports_once_and_ends_with_a_summary(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "trades.csv",
        f"date,type,isin,name,quantity,price,fee,currency\n2024-01-03,buy,{WORLD},World,10,80.5,1,EUR\n",
    )
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "generic")
    assert code == 0, output
    assert "Imported trades.csv (generic)" in output
    assert _value(output, "new transactions") == "1"
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "generic")
    assert _value(output, "already imported") == "1"
    code, output = _prism(tmp_path, "holdings")
    assert "World" in output


def test_a_bad_file_lists_its_rows_and_imports_nothing(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "bad.csv",
        f"date,type,isin,quantity,price,currency\n2024-01-03,buy,US0378331006,1,2,EUR\n2024-01-04,sell,{WORLD},5,1,EUR\n",
    )
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "generic")
    assert code == 1
    assert "line 2" in output
    assert "wrong check digit" in output
    assert "line 3" in output
    assert "cannot take out 5 units" in output
    assert "nothing imported: 2 problem(s) in bad.csv" in output
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "generic", "--skip-invalid")
    assert code == 0, output
    assert _value(output, "invalid rows skipped") == "2"


def test_a_dry_run_writes_nothing(tmp_path: Path) -> None:
    export = {
        "activities": [
            {
                "id": "a",
                "type": "BUY",
                "date": "2024-01-02",
                "symbol": APPLE,
                "quantity": 1,
                "unitPrice": 150,
                "fee": 0,
                "currency": "EUR",
            }
        ]
    }
    path = _file(tmp_path, "ghostfolio.json", json.dumps(export))
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "ghostfolio", "--dry-run")
    assert code == 0, output
    assert "Would import ghostfolio.json" in output
    assert "nothing written" in output
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "ghostfolio")
    assert _value(output, "new transactions") == "1"


def test_broker_positions_open_on_the_given_date_in_the_named_portfolio(tmp_path: Path) -> None:
    path = _file(tmp_path, "positions.csv", f"Name;ISIN;quantity;avgCost;netValue\nWorld;{WORLD};2,5;80;210\n")
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "broker", "--date", "2024-12-31")
    assert code == 0, output
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "broker", "--portfolio", "Elsewhere")
    assert code == 1
    assert "no portfolio called 'Elsewhere'" in output


def test_a_large_file_shows_progress_and_imports_every_row(tmp_path: Path) -> None:
    rows = "".join(f"2024-01-{1 + i % 28:02d},deposit,{i + 1},EUR\n" for i in range(3000))
    path = _file(tmp_path, "many.csv", "date,type,amount,currency\n" + rows)
    code, output = _prism(tmp_path, "import", "transactions", path, "--format", "generic")
    assert code == 0, output
    assert _value(output, "new transactions") == "3,000"
