"""Prune keeps every chunk a kept snapshot needs, and locks keep two pruners apart."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from prism.backup import (
    BlobStore,
    create_backup,
    list_snapshots,
    lock_repository,
    prune_repository,
    restore_snapshot,
    verify_repository,
)
from prism.backup.locks import LockInfo
from prism.errors import RepositoryLockedError, ValidationError
from tests.integration.backup.conftest import PASSPHRASE, add_rows, database_image, sha256_of


def _stored_bytes(store: BlobStore) -> int:
    return sum(store.size(name) for name in store.list("data/"))


def _replace_contents(database: Path, seed: int) -> None:
    with sqlite3.connect(database) as connection:
        connection.execute("DELETE FROM entries")
    connection.close()
    add_rows(database, 20_000, seed=seed)


def test_prune_drops_what_no_kept_snapshot_needs_and_keeps_the_rest(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    create_backup(repository, PASSPHRASE, database, lake)
    _replace_contents(database, seed=11)
    create_backup(repository, PASSPHRASE, database, lake)
    add_rows(database, 500, seed=12)
    newest = create_backup(repository, PASSPHRASE, database, lake)
    expected = database_image(database)
    before = _stored_bytes(repository)

    done = prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)

    assert done.kept == [newest.short_id]
    assert len(done.forgotten) == 2
    assert done.packs_deleted > 0
    assert done.packs_rewritten >= 1  # a pack shared by old and kept data is rewritten, not kept whole
    assert _stored_bytes(repository) < before
    assert [s.short_id for s in list_snapshots(repository, PASSPHRASE)] == [newest.short_id]
    report = verify_repository(repository, PASSPHRASE)
    assert report.ok, report.damage
    assert len(repository.list("index/")) == 1
    restored = restore_snapshot(repository, PASSPHRASE, newest.short_id, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == expected


def test_prune_with_nothing_to_forget_changes_nothing(repository: BlobStore, device: tuple[Path, Path]) -> None:
    create_backup(repository, PASSPHRASE, *device)
    packs = repository.list("data/")

    done = prune_repository(repository, PASSPHRASE, keep_daily=7, keep_weekly=4, keep_monthly=12)

    assert done.forgotten == []
    assert done.packs_deleted == 0
    assert repository.list("data/") == packs


def test_a_policy_keeping_nothing_is_refused(repository: BlobStore) -> None:
    with pytest.raises(ValidationError) as refused:
        prune_repository(repository, PASSPHRASE, keep_daily=0, keep_weekly=0, keep_monthly=0)
    assert refused.value.field == "keep_daily"


def test_a_second_pruner_is_refused(repository: BlobStore, device: tuple[Path, Path], tmp_path: Path) -> None:
    create_backup(repository, PASSPHRASE, *device)

    with lock_repository(repository, exclusive=True):
        with pytest.raises(RepositoryLockedError, match="exclusively"):
            prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)
        with pytest.raises(RepositoryLockedError):
            create_backup(repository, PASSPHRASE, *device)
        with pytest.raises(RepositoryLockedError):
            restore_snapshot(repository, PASSPHRASE, list_snapshots(repository, PASSPHRASE)[0].short_id, tmp_path / "r")
    assert repository.list("locks/") == []
    prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)


def test_backups_share_a_lock_but_keep_a_pruner_out(repository: BlobStore, device: tuple[Path, Path]) -> None:
    with lock_repository(repository, exclusive=False):
        create_backup(repository, PASSPHRASE, *device)
        with pytest.raises(RepositoryLockedError, match="for a backup"):
            prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)


def test_an_old_lock_from_another_host_is_broken(repository: BlobStore, device: tuple[Path, Path]) -> None:
    old = LockInfo(host="elsewhere", pid=1, time=datetime.now(UTC) - timedelta(hours=2), exclusive=True)
    repository.put("locks/0000000000000001", msgspec.json.encode(old))

    create_backup(repository, PASSPHRASE, *device)
    prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)

    assert repository.list("locks/") == []


def test_a_lock_of_a_dead_process_on_this_host_is_broken(repository: BlobStore, device: tuple[Path, Path]) -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = LockInfo(host=socket.gethostname(), pid=int(finished.stdout), time=datetime.now(UTC), exclusive=True)
    repository.put("locks/0000000000000002", msgspec.json.encode(dead))

    create_backup(repository, PASSPHRASE, *device)

    assert repository.list("locks/") == []


def test_a_fresh_lock_of_a_live_process_elsewhere_holds(repository: BlobStore, device: tuple[Path, Path]) -> None:
    live = LockInfo(host="elsewhere", pid=os.getpid(), time=datetime.now(UTC), exclusive=True)
    repository.put("locks/0000000000000003", msgspec.json.encode(live))

    with pytest.raises(RepositoryLockedError, match="elsewhere"):
        create_backup(repository, PASSPHRASE, *device)


def test_two_backups_at_once_both_complete_and_restore(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda _: create_backup(repository, PASSPHRASE, database, lake), range(2)))

    assert verify_repository(repository, PASSPHRASE).ok
    for number, snapshot in enumerate(done):
        restored = restore_snapshot(repository, PASSPHRASE, snapshot.short_id, tmp_path / f"restored-{number}")
        assert sha256_of(Path(restored.database_path or "")) == database_image(database)
    assert repository.list("locks/") == []


def test_prune_deletes_the_trees_only_forgotten_snapshots_use(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    create_backup(repository, PASSPHRASE, database, lake)
    _replace_contents(database, seed=31)
    newest = create_backup(repository, PASSPHRASE, database, lake)
    before = set(repository.list("trees/"))

    prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)

    after = set(repository.list("trees/"))
    assert after < before
    assert verify_repository(repository, PASSPHRASE).ok
    restored = restore_snapshot(repository, PASSPHRASE, newest.short_id, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(database)
