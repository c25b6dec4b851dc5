"""An encrypted device database (SQLCipher): the store, its migrations' safety copy,
backups and conversions work on it, and none of them leaves plaintext on disk."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from sqlalchemy import Connection

from prism.backup import FolderStore, create_backup, init_repository, restore_snapshot
from prism.config import DatabaseSettings
from prism.errors import ConflictError, ValidationError, WrongKeyError
from prism.migrations import downgrade, upgrade_device
from prism.storage.catalog import create_portfolio
from prism.storage.engine import open_database
from prism.storage.sqlite_conversion import convert_database, encrypt_if_asked
from prism.storage.sqlite_keys import connect_sqlite, database_key, file_state, fresh_key
from tests.builders import entry, make_book, record

PASSPHRASE = "amber lattice ninety comet"
NAME = "Okapi Retirement Fund"
CHEAP_KDF = {"kdf_ops": 1, "kdf_mem_kib": 8}


def _settings(path: Path, **extra: object) -> DatabaseSettings:
    return DatabaseSettings(url=f"sqlite:///{path}", encrypt=True, passphrase=PASSPHRASE, **extra)  # type: ignore[arg-type]


def _plaintext_in(folder: Path, needle: str) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle.encode() in path.read_bytes()]


async def _store_with_a_book(path: Path) -> None:
    settings = _settings(path)
    await upgrade_device(settings)
    database = open_database(settings)
    try:
        book = await make_book(database)
        await database.write(_add_portfolio, book.owner, NAME)
        await record(database, book.owner, entry(book.portfolios[0], "deposit", "2024-01-02", amount="4321.5"))
    finally:
        await database.dispose()


def _add_portfolio(connection: Connection, owner: uuid.UUID, name: str) -> None:
    create_portfolio(connection, owner, name, "EUR")


def _names(path: Path) -> list[str]:
    key = database_key(_settings(path))
    with closing(connect_sqlite(path, key)) as connection:
        return [row[0] for row in connection.execute("SELECT name FROM portfolios ORDER BY name")]


async def test_an_encrypted_store_keeps_its_rows_and_shows_none_of_them(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    await _store_with_a_book(path)

    assert file_state(path) == "encrypted"
    assert _plaintext_in(tmp_path, NAME) == []
    assert NAME in _names(path)


async def test_the_data_version_watcher_opens_an_encrypted_file(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    await _store_with_a_book(path)
    database = open_database(_settings(path))
    try:
        before = database.change_stamp()
        other = open_database(_settings(path))
        await make_book(other)
        await other.dispose()
        assert database.change_stamp() != before
    finally:
        await database.dispose()


async def test_a_wrong_passphrase_never_touches_the_file(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    await _store_with_a_book(path)
    before = path.read_bytes()
    wrong = DatabaseSettings(url=f"sqlite:///{path}", passphrase="not it at all")
    database = open_database(wrong)
    try:
        with pytest.raises(WrongKeyError):
            await database.read(lambda c: c.exec_driver_sql("SELECT 1").scalar())
    finally:
        await database.dispose()
    with pytest.raises(WrongKeyError):
        await upgrade_device(wrong)
    with pytest.raises(ValidationError, match="is encrypted"):
        open_database(DatabaseSettings(url=f"sqlite:///{path}"))
    assert path.read_bytes() == before


async def test_the_copy_made_before_an_upgrade_is_encrypted_too(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    await _store_with_a_book(path)
    database = open_database(_settings(path))
    await downgrade(database, "0013")
    await database.dispose()

    copy = await upgrade_device(_settings(path))

    assert copy is not None
    assert file_state(copy) == "encrypted"
    assert _plaintext_in(tmp_path, NAME) == []
    with closing(connect_sqlite(copy, database_key(_settings(path)))) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0013"


async def test_a_backup_holds_the_ciphertext_and_restores_a_file_the_passphrase_opens(tmp_path: Path) -> None:
    path = tmp_path / "device" / "prism.db"
    path.parent.mkdir()
    await _store_with_a_book(path)
    store = FolderStore(tmp_path / "repository")
    init_repository(store, "backup passphrase here", pack_size=256 * 1024, **CHEAP_KDF)  # type: ignore[arg-type]
    key = database_key(_settings(path))

    first = create_backup(store, "backup passphrase here", path, None, database_key=key)
    database = open_database(_settings(path))
    book = await make_book(database)
    await database.dispose()
    second = create_backup(store, "backup passphrase here", path, None, database_key=key)
    restored = restore_snapshot(store, "backup passphrase here", second.short_id, tmp_path / "restored")

    # Unchanged pages keep their ciphertext, so the second snapshot stores only what changed.
    assert second.new_bytes < first.new_bytes / 2
    assert _plaintext_in(tmp_path, NAME) == []
    restored_path = Path(restored.database_path or "")
    assert file_state(restored_path) == "encrypted"
    assert NAME in _names(restored_path)
    assert book.owner is not None
    assert not list(path.parent.glob(".prism.db.backup-*"))  # the image is gone


async def test_a_database_in_use_is_not_converted(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    await _store_with_a_book(path)
    key = database_key(_settings(path))
    database = open_database(_settings(path))
    try:
        await database.read(lambda c: c.exec_driver_sql("SELECT 1").scalar())
        with pytest.raises(ConflictError, match="in use"):
            convert_database(path, key, None)
    finally:
        await database.dispose()
    assert file_state(path) == "encrypted"
    assert NAME in _names(path)


async def test_asking_for_encryption_converts_a_plaintext_file_once(tmp_path: Path) -> None:
    path = tmp_path / "prism.db"
    plain = DatabaseSettings(url=f"sqlite:///{path}")
    await upgrade_device(plain)
    database = open_database(plain)
    book = await make_book(database)
    await database.write(_add_portfolio, book.owner, NAME)
    await database.dispose()
    assert _plaintext_in(tmp_path, NAME) != []  # the control: plaintext is found

    assert encrypt_if_asked(_settings(path)) is not None
    assert encrypt_if_asked(_settings(path)) is None

    assert file_state(path) == "encrypted"
    assert _plaintext_in(tmp_path, NAME) == []
    assert NAME in _names(path)


def test_rekeying_leaves_the_old_key_useless(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("CREATE TABLE t (a TEXT)")
        connection.execute("INSERT INTO t VALUES ('kept')")
        connection.commit()
    first, second = fresh_key("first passphrase"), fresh_key("second passphrase")

    convert_database(path, None, first)
    convert_database(path, first, second)

    with pytest.raises(WrongKeyError):
        connect_sqlite(path, first)
    with closing(connect_sqlite(path, second)) as connection:
        assert connection.execute("SELECT a FROM t").fetchall() == [("kept",)]
    with pytest.raises(ValidationError, match="is encrypted"):
        convert_database(path, None, first)


class _MemoryKeyring(KeyringBackend):
    """A keyring backend in memory: the OS keyring's interface, without an OS service."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[_MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = _MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


async def test_the_os_keyring_can_hold_a_random_key(tmp_path: Path, memory_keyring: _MemoryKeyring) -> None:
    path = tmp_path / "prism.db"
    settings = DatabaseSettings(url=f"sqlite:///{path}", encrypt=True, key_source="keyring")
    await upgrade_device(settings)
    database = open_database(settings)
    book = await make_book(database)
    await database.write(_add_portfolio, book.owner, NAME)
    await database.dispose()

    assert file_state(path) == "encrypted"
    assert _plaintext_in(tmp_path, NAME) == []
    assert list(memory_keyring.secrets) == [("portfolio-prism", str(path.resolve()))]
    memory_keyring.secrets.clear()  # another machine's keyring: the file stays shut
    with pytest.raises(ValidationError, match="is encrypted"):
        database_key(DatabaseSettings(url=f"sqlite:///{path}", key_source="keyring"))
