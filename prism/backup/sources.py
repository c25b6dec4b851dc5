"""What a backup reads: a consistent image of the SQLite database, and the lake's files.

The database is copied with SQLite's online backup API into a temporary file beside it,
so the copy is consistent while the app keeps writing, and is then cut into page-aligned
chunks. An encrypted (SQLCipher) database is copied byte for byte instead, with its
write-ahead log emptied and writers held off for the copy: the image stays ciphertext
(no plaintext copy on disk), and pages that did not change keep their bytes, so they
deduplicate across snapshots (the backup API would re-encrypt every page with a fresh
IV). Lake files are immutable and are cut into large fixed chunks (whole-file dedup).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from prism.backup.processes import process_running
from prism.errors import NotFoundError, StorageError, ValidationError
from prism.storage.sqlite_keys import SQLiteKey, connect_sqlite, file_state

__all__ = ["database_image", "lake_files", "page_size", "read_pieces"]


#: SQLCipher 4's page size (Prism never changes ``cipher_page_size``).
ENCRYPTED_PAGE_SIZE = 4096


def page_size(path: Path, *, encrypted: bool = False) -> int:
    """The page size in a SQLite file's header (bytes 16-17; 1 means 65536), or SQLCipher's
    page size for an ``encrypted`` file (whose header is ciphertext)."""
    with path.open("rb") as file:
        header = file.read(100)
    if encrypted and len(header) == 100:
        return ENCRYPTED_PAGE_SIZE
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        raise ValidationError(f"{path} is not a SQLite database", field="database")
    size = int.from_bytes(header[16:18], "big")
    return 65536 if size == 1 else size


@contextmanager
def database_image(database_path: Path, key: SQLiteKey | None = None) -> Iterator[Path]:
    """A consistent copy of the database in a temporary file beside it, removed afterwards.

    ``key`` opens an encrypted database (its image is the ciphertext itself).
    """
    if not database_path.is_file():
        raise NotFoundError(f"there is no database at {database_path}")
    _sweep_images(database_path)
    image = database_path.with_name(f".{database_path.name}.backup-{os.getpid()}-{secrets.token_hex(4)}")
    if file_state(database_path) == "encrypted":
        try:
            _ciphertext_copy(database_path, image, key)
            yield image
        finally:
            image.unlink(missing_ok=True)
        return
    try:
        source = sqlite3.connect(f"{database_path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            target = sqlite3.connect(image)
            try:
                # One step: the copy holds a read transaction, so it is one consistent state.
                source.backup(target)
            finally:
                target.close()
        finally:
            source.close()
        yield image
    except sqlite3.Error as error:
        raise StorageError(f"cannot copy the database {database_path} for a backup: {error}") from None
    finally:
        for leftover in (image, image.with_name(image.name + "-journal")):
            leftover.unlink(missing_ok=True)


def _ciphertext_copy(database_path: Path, image: Path, key: SQLiteKey | None, attempts: int = 50) -> None:
    if key is None:
        raise ValidationError(f"the database {database_path} is encrypted: its key is needed", field="database")
    connection = connect_sqlite(database_path, key, isolation_level=None, timeout=30.0)
    log = Path(f"{database_path}-wal")
    try:
        for _ in range(attempts):
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            # Writers wait while this lock is held; with the log empty, the file alone is
            # the committed state and no checkpoint can change it under the copy.
            connection.execute("BEGIN IMMEDIATE")
            try:
                if not log.exists() or log.stat().st_size == 0:
                    shutil.copyfile(database_path, image)
                    return
            finally:
                connection.execute("ROLLBACK")
            time.sleep(0.02)  # a reader kept the log from emptying: let it finish
    except Exception as error:
        raise StorageError(f"cannot copy the database {database_path} for a backup: {error}") from None
    finally:
        connection.close()
    raise StorageError(f"the database {database_path} stayed busy: its log never emptied for a copy; try again")


def _sweep_images(database_path: Path) -> None:
    # A backup killed while it held its image left a database-sized file behind; the pid
    # in the name tells whether its backup still runs (on this host: the data dir is local).
    for leftover in database_path.parent.glob(f".{database_path.name}.backup-*"):
        pid = leftover.name.rsplit(".backup-", 1)[1].split("-", 1)[0]
        if pid.isdigit() and not process_running(int(pid)):
            leftover.unlink(missing_ok=True)


def lake_files(lake_root: Path) -> list[tuple[str, Path]]:
    """``(relative path, file)`` of every lake file, manifests first.

    Manifests first: every data file a captured manifest lists then still exists (the lake
    deletes a retired file only after a grace period), so the snapshot is a consistent lake.
    """
    if not lake_root.is_dir():
        return []
    found = [
        (relative, path)
        for path in lake_root.rglob("*")
        if path.is_file()
        and not path.name.startswith(".tmp-")
        # Other accounts' backup blobs a device keeps as their relay are theirs, not its lake.
        and not (relative := path.relative_to(lake_root).as_posix()).startswith("backups/")
    ]
    return sorted(found, key=lambda pair: (not pair[0].endswith("_manifest.json"), pair[0]))


def read_pieces(path: Path, size: int) -> Iterator[bytes]:
    """The file in pieces of ``size`` bytes (the last may be shorter; an empty file gives none)."""
    with path.open("rb") as file:
        while piece := file.read(size):
            yield piece
