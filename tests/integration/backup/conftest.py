"""Backup repositories on a real folder and on a real S3 endpoint (moto on loopback),
and a real SQLite device database with a lake folder to back up."""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import uuid
from pathlib import Path

import boto3
import pytest

from prism.backup import BlobStore, FolderStore, S3Store, init_repository
from prism.config import BackupSettings
from tests.conftest import S3_KEY, S3_SECRET

STORES = ["folder", "s3"]
PASSPHRASE = "correct horse battery staple"
# Cheap Argon2id for tests; the parameters live in the key file, so every open uses them.
CHEAP_KDF = {"kdf_ops": 1, "kdf_mem_kib": 8}


def s3_backup_settings(endpoint: str) -> BackupSettings:
    """Settings of a repository under a fresh bucket on ``endpoint``."""
    bucket = f"backup-{uuid.uuid4().hex[:12]}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )
    client.create_bucket(Bucket=bucket)
    return BackupSettings(
        repository=f"s3://{bucket}/prism-backup",
        s3_endpoint=endpoint,
        s3_access_key_id=S3_KEY,
        s3_secret_access_key=S3_SECRET,
    )


@pytest.fixture(params=STORES)
def store_kind(request: pytest.FixtureRequest) -> str:
    """Each store test runs on a folder and on S3."""
    return str(request.param)


@pytest.fixture
def backup_settings(store_kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BackupSettings:
    """Settings naming a new, empty repository of the current kind."""
    if store_kind == "folder":
        return BackupSettings(repository=str(tmp_path / "repository"))
    return s3_backup_settings(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def store(backup_settings: BackupSettings) -> BlobStore:
    """An empty store of the current kind."""
    if backup_settings.repository and backup_settings.repository.startswith("s3://"):
        return S3Store(backup_settings)
    return FolderStore(Path(backup_settings.repository or ""))


@pytest.fixture
def repository(store: BlobStore) -> BlobStore:
    """An initialised repository (passphrase key; small packs and trees so a backup makes several)."""
    init_repository(store, PASSPHRASE, pack_size=256 * 1024, tree_span=64, **CHEAP_KDF)
    return store


def add_rows(path: Path, count: int, *, seed: int = 0) -> None:
    """Append ``count`` transaction-like rows to the device database."""
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE IF NOT EXISTS entries (id INTEGER PRIMARY KEY, owner TEXT, isin TEXT, amount TEXT, note TEXT)"
        )
        rng = random.Random(seed)
        connection.executemany(
            "INSERT INTO entries (owner, isin, amount, note) VALUES (?, ?, ?, ?)",
            [
                (
                    str(uuid.UUID(int=rng.getrandbits(128))),
                    f"DE{rng.randrange(10**10):010d}",
                    f"{rng.random():.6f}",
                    "x" * 40,
                )
                for _ in range(count)
            ],
        )
    connection.close()


def update_rows(path: Path, share: float, *, seed: int = 1) -> None:
    """Change ``share`` of the existing rows at random."""
    rng = random.Random(seed)
    with sqlite3.connect(path) as connection:
        ids = [row[0] for row in connection.execute("SELECT id FROM entries")]
        chosen = rng.sample(ids, max(1, int(len(ids) * share)))
        connection.executemany(
            "UPDATE entries SET amount = ? WHERE id = ?", [(f"{rng.random():.6f}", i) for i in chosen]
        )
    connection.close()


def database_image(path: Path) -> str:
    """SHA-256 of what SQLite's online backup API makes of the database now (what a backup holds)."""
    copy = path.with_name(f"reference-{uuid.uuid4().hex[:6]}.db")
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    copy.unlink()
    return digest


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def device(tmp_path: Path) -> tuple[Path, Path]:
    """``(database, lake folder)``: a ~3 MB SQLite database and a lake with a few files."""
    folder = tmp_path / "device"
    folder.mkdir()
    database = folder / "prism.db"
    add_rows(database, 20_000)
    lake = folder / "lake"
    (lake / "prices" / "year=2024").mkdir(parents=True)
    (lake / "prices" / "_manifest.json").write_text('{"format": 1, "version": 1, "files": []}')
    (lake / "prices" / "year=2024" / "part-1.parquet").write_bytes(os.urandom(600_000))
    (lake / "fx").mkdir()
    (lake / "fx" / "part-1.parquet").write_bytes(b"PAR1" + bytes(200_000) + b"PAR1")
    (lake / "empty.txt").write_bytes(b"")
    return database, lake


def lake_digest(lake: Path) -> dict[str, str]:
    """Every lake file's SHA-256, by relative path."""
    return {p.relative_to(lake).as_posix(): sha256_of(p) for p in sorted(lake.rglob("*")) if p.is_file()}
