"""The backup schedule: a backup after changes only, its status kept in the data folder
across restarts, failures recorded and retried. Real SQLite files and a real folder
repository; the interval is shortened to a second."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

import pytest

from prism.backup.create import SnapshotSummary
from prism.backup.schedule import (
    STATE_NAME,
    database_fingerprint,
    next_run,
    read_status,
    run_schedule,
    scheduled_backups,
    take_backup,
)
from prism.backup.snapshots import list_snapshots
from prism.backup.stores import FolderStore
from prism.config import Settings, load_settings
from prism.errors import WrongKeyError

FAST_KDF = {"PRISM_SYNC_KDF_OPS": "1", "PRISM_SYNC_KDF_MEM_KIB": "8192"}


def _settings(tmp_path: Path, interval: int = 1, passphrase: str = "correct horse") -> Settings:
    environ = {
        **FAST_KDF,
        "PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository"),
        "PRISM_BACKUP_PASSPHRASE": passphrase,
        "PRISM_BACKUP_INTERVAL": str(interval),
    }
    return load_settings(environ, data_dir=tmp_path / "data")


def _database(settings: Settings, rows: int = 100) -> Path:
    path = settings.database.sqlite_path
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    # Closed at once: the last connection's close checkpoints the WAL, which is a change
    # of the files (a real server keeps its connections open).
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, note TEXT)")
        connection.executemany("INSERT INTO ledger (note) VALUES (?)", [(f"row {n}",) for n in range(rows)])
    return path


def test_a_backup_is_skipped_when_nothing_changed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    _database(settings)
    first = take_backup(settings, only_if_changed=True)
    assert first is not None
    assert take_backup(settings, only_if_changed=True) is None
    _database(settings, rows=1)
    again = take_backup(settings, only_if_changed=True)
    assert again is not None
    assert again.snapshot_id != first.snapshot_id
    assert len(list_snapshots(FolderStore(tmp_path / "repository"), "correct horse")) == 2


def test_the_fingerprint_follows_the_database_and_the_lake(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    database = _database(settings)
    lake = tmp_path / "lake"
    before = database_fingerprint(database, lake)
    assert database_fingerprint(database, lake) == before
    _database(settings, rows=1)
    after_write = database_fingerprint(database, lake)
    assert after_write != before
    (lake / "prices").mkdir(parents=True)
    (lake / "prices" / "part-0.parquet").write_bytes(b"PAR1")
    assert database_fingerprint(database, lake) != after_write


def test_the_status_is_kept_in_the_data_folder(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval=3600)
    _database(settings)
    assert read_status(settings).last_success_at is None
    summary = take_backup(settings)
    assert summary is not None
    # A restarted server reads the same file.
    restarted = read_status(_settings(tmp_path, interval=3600))
    assert restarted.last_snapshot_id == summary.snapshot_id
    assert restarted.last_size_bytes == summary.total_bytes
    assert restarted.last_success_at == summary.time
    assert restarted.last_error is None
    due = next_run(settings, restarted)
    assert due is not None
    assert restarted.last_attempt_at is not None
    assert (due - restarted.last_attempt_at).total_seconds() == 3600
    assert (settings.data_dir / STATE_NAME).exists()


def test_a_failure_is_recorded_and_cleared_by_the_next_good_backup(tmp_path: Path) -> None:
    _database(_settings(tmp_path))
    assert take_backup(_settings(tmp_path)) is not None
    wrong = _settings(tmp_path, passphrase="wrong passphrase")
    _database(wrong, rows=1)
    with pytest.raises(WrongKeyError):
        take_backup(wrong)
    failed = read_status(wrong)
    assert failed.last_error is not None
    assert failed.last_error_at is not None
    assert failed.last_success_at is not None  # the last good one is still known
    assert take_backup(_settings(tmp_path), only_if_changed=True) is not None
    assert read_status(wrong).last_error is None


def test_a_damaged_state_file_reads_as_no_backup_yet(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / STATE_NAME).write_text("{not json")
    assert read_status(settings).last_success_at is None


async def test_the_schedule_backs_up_after_changes_only(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval=1)
    _database(settings)
    runs: list[SnapshotSummary | None] = []
    stop = asyncio.Event()

    def seen(summary: SnapshotSummary | None) -> None:
        runs.append(summary)
        if len(runs) == 2:
            _database(settings, rows=5)  # a change before the third run
        if len(runs) == 3:
            stop.set()

    await asyncio.wait_for(run_schedule(settings, stop, on_run=seen), timeout=30)
    assert runs[0] is not None  # the first run backs up
    assert runs[1] is None  # nothing changed
    assert runs[2] is not None  # changed
    assert read_status(settings).last_snapshot_id == runs[2].snapshot_id


async def test_no_schedule_runs_when_the_interval_is_zero(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval=0)
    _database(settings)
    async with scheduled_backups(settings):
        await asyncio.sleep(0.2)
    assert read_status(settings).last_attempt_at is None
    assert next_run(settings, read_status(settings)) is None


async def test_the_server_hook_takes_the_first_backup(tmp_path: Path) -> None:
    settings = _settings(tmp_path, interval=3600)
    _database(settings)
    async with scheduled_backups(settings):
        for _ in range(200):
            if read_status(settings).last_success_at is not None:
                break
            await asyncio.sleep(0.05)
    assert read_status(settings).last_snapshot_id is not None
