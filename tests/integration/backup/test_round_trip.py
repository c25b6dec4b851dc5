"""A backup restores byte for byte, and a second backup uploads only what changed."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from prism.backup import (
    BlobStore,
    create_backup,
    list_snapshots,
    restore_snapshot,
    verify_repository,
)
from prism.backup.keys import open_repository
from prism.backup.snapshots import load_manifest
from prism.errors import ConflictError
from tests.integration.backup.conftest import PASSPHRASE, add_rows, database_image, lake_digest, sha256_of, update_rows


def test_restore_gives_the_same_database_and_lake_files(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    done = create_backup(repository, PASSPHRASE, database, lake)
    expected = database_image(database)

    restored = restore_snapshot(repository, PASSPHRASE, done.short_id, tmp_path / "restored")

    assert restored.database_path is not None
    assert sha256_of(Path(restored.database_path)) == expected
    assert lake_digest(tmp_path / "restored" / "lake") == lake_digest(lake)
    assert restored.files == done.files == 1 + len(lake_digest(lake))
    assert Path(restored.database_path).stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(restored.database_path) as connection:
        assert connection.execute("SELECT count(*) FROM entries").fetchone() == (20_000,)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_a_second_backup_of_unchanged_data_uploads_nothing(repository: BlobStore, device: tuple[Path, Path]) -> None:
    database, lake = device
    first = create_backup(repository, PASSPHRASE, database, lake)
    second = create_backup(repository, PASSPHRASE, database, lake)

    assert first.new_bytes == first.total_bytes
    assert second.new_chunks == 0
    assert second.uploaded_bytes == 0
    assert [s.id for s in list_snapshots(repository, PASSPHRASE)] == sorted(
        [first.snapshot_id, second.snapshot_id], key=[first.snapshot_id, second.snapshot_id].index
    )


def test_appending_rows_uploads_a_small_fraction(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    create_backup(repository, PASSPHRASE, database, lake)
    add_rows(database, 200, seed=7)  # 1% more rows

    after = create_backup(repository, PASSPHRASE, database, lake)

    # The header page, the tables' interior pages and the tail change; nothing else does.
    assert after.new_chunks <= 6
    assert after.uploaded_bytes < 0.05 * database.stat().st_size
    restored = restore_snapshot(repository, PASSPHRASE, after.short_id, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(database)


def test_updating_one_percent_of_rows_uploads_less_than_the_database(
    repository: BlobStore, device: tuple[Path, Path]
) -> None:
    database, lake = device
    create_backup(repository, PASSPHRASE, database, lake)
    update_rows(database, 0.01)

    after = create_backup(repository, PASSPHRASE, database, lake)

    assert 0 < after.new_bytes < database.stat().st_size


def test_a_backup_taken_while_the_app_writes_is_consistent(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, lake = device
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            add_rows(database, 50, seed=3)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        done = create_backup(repository, PASSPHRASE, database, lake)
    finally:
        stop.set()
        writer.join()

    restored = restore_snapshot(repository, PASSPHRASE, done.short_id, tmp_path / "restored")
    with sqlite3.connect(restored.database_path or "") as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        count = connection.execute("SELECT count(*) FROM entries").fetchone()[0]
    assert count >= 20_000
    assert count % 50 == 0  # whole transactions only
    assert verify_repository(repository, PASSPHRASE).ok


def test_restore_never_overwrites_a_file(repository: BlobStore, device: tuple[Path, Path], tmp_path: Path) -> None:
    database, lake = device
    done = create_backup(repository, PASSPHRASE, database, lake)
    target = tmp_path / "restored"
    target.mkdir()
    (target / "prism.db").write_bytes(b"mine")

    with pytest.raises(ConflictError, match="overwrite"):
        restore_snapshot(repository, PASSPHRASE, done.short_id, target)

    assert (target / "prism.db").read_bytes() == b"mine"
    assert not (target / "lake").exists()


def test_a_backup_without_a_lake_holds_the_database_only(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    database, _ = device
    done = create_backup(repository, PASSPHRASE, database, None)

    restore_snapshot(repository, PASSPHRASE, done.short_id, tmp_path / "restored")

    assert [p.name for p in (tmp_path / "restored").iterdir()] == ["prism.db"]


def test_database_chunks_follow_large_pages(repository: BlobStore, tmp_path: Path) -> None:
    database = tmp_path / "big-pages.db"
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA page_size = 65536")
        connection.execute("VACUUM")
    connection.close()
    add_rows(database, 3_000)

    done = create_backup(repository, PASSPHRASE, database, None)

    manifest = load_manifest(open_repository(repository, PASSPHRASE), done.snapshot_id)
    assert [(f.path, f.chunk_size) for f in manifest.files] == [("big-pages.db", 65536)]
    restored = restore_snapshot(repository, PASSPHRASE, done.short_id, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(database)


def test_a_long_file_is_listed_in_trees_written_once(repository: BlobStore, device: tuple[Path, Path]) -> None:
    database, lake = device
    first = create_backup(repository, PASSPHRASE, database, lake)
    trees = repository.list("trees/")
    second = create_backup(repository, PASSPHRASE, database, lake)

    repo = open_repository(repository, PASSPHRASE)
    stored = next(f for f in load_manifest(repo, second.snapshot_id, expand=False).files if f.kind == "database")
    loaded = next(f for f in load_manifest(repo, second.snapshot_id).files if f.kind == "database")
    chunks = -(-stored.size // stored.chunk_size)
    assert stored.chunks == []
    assert len(stored.trees) == -(-chunks // 64)  # the test repository's tree_span
    assert len(loaded.chunks) == chunks
    assert loaded.chunks == next(f for f in load_manifest(repo, first.snapshot_id).files if f.kind == "database").chunks
    assert repository.list("trees/") == trees  # nothing changed: no tree written again


def test_a_migrated_prism_database_restores_with_its_schema(
    repository: BlobStore, sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "device" / "prism.db"
    database.parent.mkdir()
    database.write_bytes(sqlite_template.read_bytes())
    done = create_backup(repository, PASSPHRASE, database, None)

    restored = restore_snapshot(repository, PASSPHRASE, done.short_id, tmp_path / "restored")

    assert sha256_of(Path(restored.database_path or "")) == database_image(database)
    query = "SELECT name, sql FROM sqlite_master ORDER BY name"
    with sqlite3.connect(database) as original, sqlite3.connect(restored.database_path or "") as copy:
        assert copy.execute(query).fetchall() == original.execute(query).fetchall()
        assert (
            copy.execute("SELECT version_num FROM alembic_version").fetchall()
            == original.execute("SELECT version_num FROM alembic_version").fetchall()
        )
