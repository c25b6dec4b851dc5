"""The ``prism`` command, end to end, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from prism.cli import main
from tests.conftest import DemoDatabase

SCALE = 0.05
DEMO = ("--scale", str(SCALE), "--no-serve", "--no-market")


def _prism(*args: str, database_url: str, tmp_path: Path) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", database_url, *args], env={"COLUMNS": "160"}
    )
    return result.exit_code, result.output


def test_demo_fills_an_empty_database_and_shows_holdings(database_url: str, tmp_path: Path) -> None:
    code, output = _prism("demo", *DEMO, database_url=database_url, tmp_path=tmp_path)
    assert code == 0, output
    assert "recorded" in output
    assert "Broker (EUR)" in output
    assert "US Account (USD)" in output
    code, again = _prism("demo", *DEMO, database_url=database_url, tmp_path=tmp_path)
    assert code == 0
    assert "already holds an account" in again


def test_holdings_by_method_and_portfolio(demo_database: DemoDatabase, tmp_path: Path) -> None:
    database_url = demo_database(SCALE)
    code, output = _prism(
        "holdings", "--portfolio", "Pension", "--method", "average", database_url=database_url, tmp_path=tmp_path
    )
    assert code == 0, output
    assert "Pension (EUR, average)" in output
    assert "Broker" not in output
    code, output = _prism("holdings", "--portfolio", "Nope", database_url=database_url, tmp_path=tmp_path)
    assert code == 1
    assert "no portfolio named 'Nope'" in output


def test_rebuild_reproduces_the_maintained_projection(demo_database: DemoDatabase, tmp_path: Path) -> None:
    database_url = demo_database(SCALE)
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
    code, output = _prism("db", "current", database_url=url, tmp_path=tmp_path)
    assert "up to date" in output
    code, output = _prism("db", "downgrade", "0001", database_url=url, tmp_path=tmp_path)
    assert code == 0, output
    _, output = _prism("db", "current", database_url=url, tmp_path=tmp_path)
    assert "needs `prism db upgrade`" in output


def test_holdings_without_an_account_says_what_to_do(tmp_path: Path) -> None:
    code, output = _prism("holdings", database_url=f"sqlite:///{tmp_path / 'empty.db'}", tmp_path=tmp_path)
    assert code == 1
    assert "prism demo" in output


def test_token_show_is_stable_and_rotate_replaces_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'device.db'}"
    _, first = _prism("token", "show", database_url=url, tmp_path=tmp_path)
    _, again = _prism("token", "show", database_url=url, tmp_path=tmp_path)
    _, rotated = _prism("token", "rotate", database_url=url, tmp_path=tmp_path)
    assert first == again
    assert rotated != first
    assert len(rotated.strip()) >= 40
    assert (tmp_path / "api-token").stat().st_mode & 0o777 == 0o600


def test_sync_commands_on_an_unlinked_device_say_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'prism.db'}"
    for command in (["sync"], ["sync", "status"], ["serve", "--relay", "http://127.0.0.1:9"]):
        code, output = _prism(*command, database_url=url, tmp_path=tmp_path)
        assert code == 1, (command, output)
        assert "prism sync init" in output
