"""The relay store: a backup repository's blobs on a real Prism server (uvicorn on
loopback, both databases), through the blob store interface every repository uses."""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from prism.api import create_app
from prism.backup.create import create_backup
from prism.backup.keys import init_repository
from prism.backup.relay_store import RelayBackupTarget, RelayStore, relay_target
from prism.backup.restore import restore_snapshot
from prism.backup.schedule import read_status, take_backup
from prism.backup.verify import verify_repository
from prism.config import load_settings
from prism.errors import NotFoundError, PermissionDeniedError, StorageError, ValidationError
from tests.serving import served_app


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[RelayBackupTarget]:
    """A device server in its own folder; the target a device backs up to."""
    settings = load_settings({}, data_dir=tmp_path / "server", database_url=database_url)
    with served_app(create_app(settings)) as url:
        yield RelayBackupTarget(url, settings.token_path.read_text().strip())


@pytest.fixture
def store(server: RelayBackupTarget) -> Iterator[RelayStore]:
    with RelayStore(server, page_size=4) as opened:
        yield opened


def test_blobs_round_trip_through_the_server(store: RelayStore) -> None:
    pack = bytes(range(256)) * (1 << 12)
    store.put("data/ab/ab12", pack)
    store.put("config", b'{"format": 1}')
    assert store.get("data/ab/ab12") == pack
    assert store.size("data/ab/ab12") == len(pack)
    assert store.list("") == ["config", "data/ab/ab12"]
    assert store.list("data/") == ["data/ab/ab12"]
    store.delete("data/ab/ab12")
    store.delete("data/ab/ab12")  # absent is fine
    assert store.list("data/") == []


def test_a_missing_blob_is_not_found(store: RelayStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("snapshots/00")
    store.put("snapshots/001", b"x")
    with pytest.raises(NotFoundError):
        store.size("snapshots/00")  # a prefix of a stored name is not that name


def test_listing_reads_every_page(store: RelayStore) -> None:
    names = sorted(f"index/{n:03d}" for n in range(11))
    for name in names:
        store.put(name, name.encode())
    assert store.list("index/") == names
    assert store.sizes("index/") == {name: len(name) for name in names}


def test_a_bad_name_is_refused_before_it_is_sent(store: RelayStore) -> None:
    with pytest.raises(ValidationError) as caught:
        store.put("Data/../x", b"x")
    assert caught.value.field == "name"


def test_a_wrong_token_is_permission_denied(server: RelayBackupTarget) -> None:
    with RelayStore(RelayBackupTarget(server.url, "not the token")) as store, pytest.raises(PermissionDeniedError):
        store.list("")


def test_an_unreachable_server_is_a_storage_error_after_retries() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = RelayBackupTarget(f"http://127.0.0.1:{port}", "token")
    with RelayStore(target, attempts=3, backoff_seconds=0.01) as store, pytest.raises(StorageError) as caught:
        store.get("config")
    assert "after 3 attempts" in str(caught.value)


class _Flaky:
    """The real app behind a front that answers 503 to the first ``failures`` requests."""

    def __init__(self, app: Litestar, failures: int) -> None:
        self.app, self.failures, self.seen = app, failures, 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen += 1
            if self.seen <= self.failures:
                await send({"type": "http.response.start", "status": 503, "headers": [(b"retry-after", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


def test_a_failing_server_is_retried_until_it_answers(database_url: str, tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
    app = create_app(settings)
    front = _Flaky(app, failures=0)
    with served_app(front) as url:  # type: ignore[arg-type]
        target = RelayBackupTarget(url, settings.token_path.read_text().strip())
        with RelayStore(target, attempts=4, backoff_seconds=0.01) as store:
            front.failures, front.seen = 3, 0
            store.put("keys/0011", b"wrapped")
            assert front.seen == 4
            assert store.get("keys/0011") == b"wrapped"
            front.failures, front.seen = 9, 0
            with pytest.raises(StorageError):
                store.get("keys/0011")


def test_the_target_comes_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings({"PRISM_SYNC_RELAY": "https://relay.example/"}, data_dir=tmp_path)
    with pytest.raises(ValidationError) as caught:
        relay_target(settings)
    assert caught.value.field == "token"
    settings.token_path.write_text("device-token\n")
    assert relay_target(settings) == RelayBackupTarget("https://relay.example", "device-token")
    assert relay_target(settings, "signed-in") == RelayBackupTarget("https://relay.example", "signed-in")
    assert "token" not in repr(relay_target(settings))
    with pytest.raises(ValidationError) as missing:
        relay_target(load_settings({}, data_dir=tmp_path))
    assert missing.value.field == "PRISM_SYNC_RELAY"


def _device_files(root: Path) -> tuple[Path, Path]:
    """A quiet device: a SQLite database of some size and a lake folder."""
    database = root / "data" / "prism.db"
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount TEXT, note TEXT)")
        connection.executemany(
            "INSERT INTO ledger (amount, note) VALUES (?, ?)",
            [(f"{n}.{n % 100:02d}", os.urandom(40).hex()) for n in range(20_000)],
        )
    lake = root / "data" / "lake"
    (lake / "prices" / "year=2024").mkdir(parents=True)
    (lake / "prices" / "_manifest.json").write_text('{"version": 1}')
    (lake / "prices" / "year=2024" / "part-0.parquet").write_bytes(os.urandom(300_000))
    return database, lake


def _pages(database: Path) -> bytes:
    """The file's bytes but its change counter, schema cookie and version-valid-for (header
    bytes 24-27, 40-43, 92-95): SQLite's online backup, which takes the snapshot, writes its
    own values there."""
    data = bytearray(database.read_bytes())
    data[24:28] = data[40:44] = data[92:96] = b"\0\0\0\0"
    return bytes(data)


def _tree(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in root.rglob("*") if path.is_file()}


def test_a_backup_through_the_relay_restores_byte_identical(server: RelayBackupTarget, tmp_path: Path) -> None:
    database, lake = _device_files(tmp_path / "device")
    with RelayStore(server) as store:
        init_repository(store, "correct horse battery", kdf_ops=1, kdf_mem_kib=8192)
        first = create_backup(store, "correct horse battery", database, lake)
        with sqlite3.connect(database) as connection:
            connection.execute("INSERT INTO ledger (amount, note) VALUES ('1.00', 'one more')")
        second = create_backup(store, "correct horse battery", database, lake)
        assert second.uploaded_bytes < first.uploaded_bytes / 10  # only the changed pages travel
        report = verify_repository(store, "correct horse battery")
        assert report.ok, report.damage
        restored = restore_snapshot(store, "correct horse battery", second.snapshot_id, tmp_path / "restored")
    assert restored.files == 3
    assert _pages(tmp_path / "restored" / "prism.db") == _pages(database)
    assert _tree(tmp_path / "restored" / "lake") == _tree(lake)
    assert all(name.startswith("backups/owner=") for name in _tree(tmp_path / "server" / "lake"))


def test_the_schedule_backs_up_to_the_relay_named_in_the_settings(server: RelayBackupTarget, tmp_path: Path) -> None:
    database, _lake = _device_files(tmp_path / "device")
    environ = {
        "PRISM_BACKUP_REPOSITORY": "relay",
        "PRISM_SYNC_RELAY": server.url,
        "PRISM_BACKUP_PASSPHRASE": "correct horse battery",
        "PRISM_SYNC_KDF_OPS": "1",
        "PRISM_SYNC_KDF_MEM_KIB": "8192",
    }
    settings = load_settings(environ, data_dir=database.parent)
    settings.token_path.write_text(server.token + "\n")
    summary = take_backup(settings)
    assert summary is not None
    assert read_status(settings).last_snapshot_id == summary.snapshot_id
    assert take_backup(settings, only_if_changed=True) is None
    with RelayStore(server) as store:
        restore_snapshot(store, "correct horse battery", summary.short_id, tmp_path / "restored")
    assert _pages(tmp_path / "restored" / "prism.db") == _pages(database)
