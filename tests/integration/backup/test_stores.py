"""The blob stores behave alike on a folder and on S3."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from prism.backup import BlobStore, FolderStore, S3Store, open_store
from prism.config import BackupSettings
from prism.errors import NotFoundError, RepositoryError, ValidationError


def test_a_put_blob_reads_back_lists_and_sizes(store: BlobStore) -> None:
    store.put("data/ab/ab01", b"one")
    store.put("data/cd/cd02", b"two!")
    store.put("index/ff", b"x")

    assert store.get("data/ab/ab01") == b"one"
    assert store.list("data/") == ["data/ab/ab01", "data/cd/cd02"]
    assert store.list("index/") == ["index/ff"]
    assert store.size("data/cd/cd02") == 4


def test_a_put_replaces_the_blob(store: BlobStore) -> None:
    store.put("locks/1", b"old")
    store.put("locks/1", b"newer")

    assert store.get("locks/1") == b"newer"
    assert store.list("locks/") == ["locks/1"]


def test_a_missing_blob_is_not_found_and_deleting_it_is_fine(store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("snapshots/00")
    with pytest.raises(NotFoundError):
        store.size("snapshots/00")
    store.delete("snapshots/00")
    store.put("snapshots/01", b"s")
    store.delete("snapshots/01")
    assert store.list("snapshots/") == []


@pytest.mark.parametrize("name", ["../escape", "/absolute", "data//double", "Upper", "a" * 201, ""])
def test_a_bad_blob_name_is_refused(store: BlobStore, name: str) -> None:
    with pytest.raises(ValidationError):
        store.put(name, b"x")


def test_a_folder_store_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "repository")
    store.put("keys/0a", b"k")

    assert [p.name for p in (tmp_path / "repository" / "keys").iterdir()] == ["0a"]


def test_open_store_chooses_by_url(tmp_path: Path, s3_endpoint: str) -> None:
    assert isinstance(open_store(BackupSettings(repository=str(tmp_path / "r"))), FolderStore)
    assert isinstance(open_store(BackupSettings(repository="s3://bucket/prefix", s3_endpoint=s3_endpoint)), S3Store)
    with pytest.raises(ValidationError) as unset:
        open_store(BackupSettings())
    assert unset.value.field == "PRISM_BACKUP_REPOSITORY"
    with pytest.raises(ValidationError, match="relay"):
        open_store(BackupSettings(repository="relay"))
    with pytest.raises(ValidationError):
        open_store(BackupSettings(repository="ftp://host/x"))


def test_s3_errors_become_repository_errors(s3_endpoint: str) -> None:
    missing_bucket = S3Store(
        BackupSettings(
            repository="s3://no-such-bucket-here/prefix",
            s3_endpoint=s3_endpoint,
            s3_access_key_id="prism-test-key",
            s3_secret_access_key="prism-test-secret",
        )
    )

    with pytest.raises(RepositoryError, match="NoSuchBucket"):
        missing_bucket.put("config", b"{}")
    with pytest.raises(RepositoryError, match="NoSuchBucket"):
        missing_bucket.list("keys/")


def test_an_unreachable_s3_endpoint_is_a_repository_error() -> None:
    unreachable = S3Store(
        BackupSettings(
            repository="s3://bucket/prefix",
            s3_endpoint="http://127.0.0.1:9",
            s3_access_key_id="k",
            s3_secret_access_key="s",
        )
    )

    with pytest.raises(RepositoryError, match="could not"):
        unreachable.get("config")


def test_half_written_files_of_dead_writers_are_swept(tmp_path: Path) -> None:
    store = FolderStore(tmp_path / "repository")
    store.put("data/ab/ab01", b"pack")
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True)
    dead = tmp_path / "repository" / "data" / "ab" / f".tmp-{int(finished.stdout)}-x1"
    dead.write_bytes(b"half a pack")
    live = tmp_path / "repository" / "data" / "ab" / f".tmp-{os.getpid()}-x2"
    live.write_bytes(b"being written")

    assert store.list("data/") == ["data/ab/ab01"]
    assert store.sweep_temporaries() == 1
    assert not dead.exists()
    assert live.exists()
