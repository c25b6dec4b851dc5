"""The ``prism`` command, end to end, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from prism.cli import main


def _prism(*args: str, database_url: str, tmp_path: Path) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", database_url, *args], env={"COLUMNS": "160"}
    )
    return result.exit_code, result.output


def test_demo_fills_an_empty_database_and_shows_holdings(database_url: str, tmp_path: Path) -> None:
    code, output = _prism("demo", database_url=database_url, tmp_path=tmp_path)
    assert code == 0, output
    assert "recorded" in output
    assert "iShares Core MSCI World" in output
    assert "US Account (USD, fifo)" in output
    code, again = _prism("demo", database_url=database_url, tmp_path=tmp_path)
    assert code == 0
    assert "already holds an account" in again


def test_holdings_by_method_and_portfolio(database_url: str, tmp_path: Path) -> None:
    _prism("demo", database_url=database_url, tmp_path=tmp_path)
    code, output = _prism(
        "holdings", "--portfolio", "Pension", "--method", "average", database_url=database_url, tmp_path=tmp_path
    )
    assert code == 0, output
    assert "Pension (EUR, average)" in output
    assert "Broker" not in output
    code, output = _prism("holdings", "--portfolio", "Nope", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "no portfolio named 'Nope'" in output


def test_rebuild_reproduces_the_maintained_projection(database_url: str, tmp_path: Path) -> None:
    _prism("demo", database_url=database_url, tmp_path=tmp_path)
    _, before = _prism("holdings", database_url=database_url, tmp_path=tmp_path)
    code, output = _prism("db", "rebuild", database_url=database_url, tmp_path=tmp_path)
    assert code == 0, output
    assert "rebuilt the projection of 1 account(s)" in output
    _, after = _prism("holdings", database_url=database_url, tmp_path=tmp_path)
    assert after == before


def test_db_status_and_upgrade_on_a_new_device(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'device.db'}"
    code, output = _prism("db", "upgrade", database_url=url, tmp_path=tmp_path)
    assert code == 0, output
    code, output = _prism("db", "status", database_url=url, tmp_path=tmp_path)
    assert "up to date" in output


def test_holdings_without_an_account_says_what_to_do(tmp_path: Path) -> None:
    code, output = _prism("holdings", database_url=f"sqlite:///{tmp_path / 'empty.db'}", tmp_path=tmp_path)
    assert code == 1
    assert "prism demo" in output
