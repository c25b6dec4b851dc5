"""``backup create`` and ``prune`` killed with SIGKILL at every step boundary and at random
points, on a folder and on S3: afterwards ``verify`` passes, every completed snapshot
restores byte for byte, and the next run completes."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from prism.backup import BlobStore, create_backup, list_snapshots, prune_repository, restore_snapshot, verify_repository
from prism.config import BackupSettings
from tests.integration.backup.conftest import PASSPHRASE, add_rows, database_image, lake_digest, sha256_of

WORKER = Path(__file__).with_name("crash_worker.py")
ROOT = Path(__file__).resolve().parents[3]
CREATE_STEPS = ["pack-uploaded", "packs-uploaded", "index-written", "before-manifest", "manifest-written"]
PRUNE_STEPS = ["snapshots-forgotten", "packs-written", "index-written", "indexes-deleted", "packs-deleted"]
RANDOM_POINTS = ["random-1", "random-2", "random-3", "random-4"]


def _run(settings: BackupSettings, operation: str, kill_at: str, device: tuple[Path, Path]) -> int:
    point = random.Random(kill_at)
    writes = 5 if operation == "create" else 12  # about how many puts and deletes the run makes
    kill_at_write = point.randint(1, writes) if kill_at.startswith("random") else None
    spec = {
        "settings": msgspec.to_builtins(settings),
        "operation": operation,
        "kill_at": kill_at,
        "kill_at_write": kill_at_write,
        "before": point.random() < 0.5,
        "passphrase": PASSPHRASE,
        "database": str(device[0]),
        "lake": str(device[1]),
    }
    command = [sys.executable, str(WORKER), json.dumps(spec)]
    done = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode in {0, -signal.SIGKILL}, done.stderr.decode()
    return done.returncode


def _assert_restorable(store: BlobStore, images: dict[str, str], tmp_path: Path, folder: str) -> list[str]:
    report = verify_repository(store, PASSPHRASE)
    assert report.ok, report.damage
    found = list_snapshots(store, PASSPHRASE)
    for info in found:
        restored = restore_snapshot(store, PASSPHRASE, info.short_id, tmp_path / folder / info.short_id)
        assert sha256_of(Path(restored.database_path or "")) == images[info.id]
    return [info.id for info in found]


@pytest.mark.parametrize("kill_at", CREATE_STEPS + RANDOM_POINTS)
def test_a_killed_backup_leaves_a_valid_repository(
    repository: BlobStore, backup_settings: BackupSettings, device: tuple[Path, Path], tmp_path: Path, kill_at: str
) -> None:
    database, lake = device
    first = create_backup(repository, PASSPHRASE, database, lake)
    images = {first.snapshot_id: database_image(database)}
    add_rows(database, 4_000, seed=5)
    (lake / "prices" / "year=2024" / "part-2.parquet").write_bytes(os.urandom(300_000))
    changed = database_image(database)

    code = _run(backup_settings, "create", kill_at, device)

    if kill_at in CREATE_STEPS:
        assert code == -signal.SIGKILL
    ids = [info.id for info in list_snapshots(repository, PASSPHRASE)]
    assert ids[0] == first.snapshot_id
    if kill_at == "manifest-written":
        assert len(ids) == 2
    elif kill_at in CREATE_STEPS:
        assert len(ids) == 1
    images.update(dict.fromkeys(ids[1:], changed))
    _assert_restorable(repository, images, tmp_path, "after-kill")
    # The next backup completes, re-using the packs the killed run uploaded.
    again = create_backup(repository, PASSPHRASE, database, lake)
    if kill_at in {"pack-uploaded", "packs-uploaded", "before-manifest"}:
        assert again.reused_packs >= 1 or kill_at == "before-manifest"
        assert again.new_bytes < again.total_bytes
    images[again.snapshot_id] = changed
    _assert_restorable(repository, images, tmp_path, "after-resume")
    restored = tmp_path / "after-resume" / again.short_id / "lake"
    assert lake_digest(restored) == lake_digest(lake)
    assert not list(database.parent.glob(".prism.db.backup-*"))  # the killed run's image is gone


@pytest.mark.parametrize("kill_at", PRUNE_STEPS + RANDOM_POINTS)
def test_a_killed_prune_leaves_a_valid_repository(
    repository: BlobStore, backup_settings: BackupSettings, device: tuple[Path, Path], tmp_path: Path, kill_at: str
) -> None:
    database, lake = device
    images: dict[str, str] = {}
    for step in range(3):
        if step == 1:
            with sqlite3.connect(database) as connection:
                connection.execute("DELETE FROM entries WHERE id % 2 = 0")
            connection.close()
            add_rows(database, 8_000, seed=21)
        if step == 2:
            add_rows(database, 1_000, seed=22)
        done = create_backup(repository, PASSPHRASE, database, lake)
        images[done.snapshot_id] = database_image(database)
    newest = done.snapshot_id

    code = _run(backup_settings, "prune", kill_at, device)

    if kill_at in PRUNE_STEPS:
        assert code == -signal.SIGKILL
    remaining = _assert_restorable(repository, images, tmp_path, "after-kill")
    assert newest in remaining
    if kill_at in PRUNE_STEPS:
        assert remaining == [newest]  # manifests are forgotten first
    prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)
    assert _assert_restorable(repository, images, tmp_path, "after-prune") == [newest]
    assert verify_repository(repository, PASSPHRASE).unreferenced_packs == 0
