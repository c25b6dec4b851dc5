"""The device database's at-rest key: where it comes from and how a connection uses it.

An encrypted device database is a SQLCipher 4 file (the ``sqlcipher3`` wheel, which
bundles its own SQLite): every page is encrypted with AES-256 and authenticated with
an HMAC, and the first 16 bytes of the file are its salt instead of SQLite's magic
header. Prism hands SQLCipher a *raw* 256-bit key, so SQLCipher's own PBKDF2 never
runs; the key is one of

* **a passphrase**, stretched with Argon2id (libsodium through PyNaCl; 3 passes,
  64 MiB, about 0.15 s here) salted with the file's own 16-byte salt, so nothing
  beside the database needs storing; or
* **a random key held by the OS keyring** (service ``portfolio-prism``, user name the
  database's absolute path), where a keyring backend exists.

Whether a file is encrypted is read from its first bytes: a plaintext SQLite file
starts with ``SQLite format 3\\0``. Every connection Prism opens on the file (the
engine's, the data-version watcher, migrations' safety copy, backups) comes from
:func:`connect_sqlite` or uses :meth:`SQLiteKey.pragma`, so none can forget the key.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import sqlite3
from pathlib import Path
from typing import Any, Literal

import nacl.pwhash

from prism.config import DatabaseSettings
from prism.errors import ValidationError, WrongKeyError

__all__ = [
    "KDF_MEMORY_BYTES",
    "KDF_PASSES",
    "PLAINTEXT_HEADER",
    "SQLiteKey",
    "connect_sqlite",
    "database_key",
    "file_state",
    "key_from_passphrase",
    "apply_key",
    "check_key",
    "fresh_key",
    "sqlcipher_module",
    "sqlite_module",
]

#: The first 16 bytes of every plaintext SQLite file.
PLAINTEXT_HEADER = b"SQLite format 3\x00"
#: Argon2id cost of a database passphrase. Part of the file format: changing them
#: would make every existing passphrase open nothing, so they are constants.
KDF_PASSES = 3
KDF_MEMORY_BYTES = 64 * 1024 * 1024
_SALT_BYTES = 16
_KEYRING_SERVICE = "portfolio-prism"


class SQLiteKey:
    """A raw SQLCipher key, and the salt a new file gets (the existing salt otherwise)."""

    __slots__ = ("_key", "salt")

    def __init__(self, key: bytes, salt: bytes | None = None) -> None:
        if len(key) != 32 or (salt is not None and len(salt) != _SALT_BYTES):
            raise ValueError("a database key is 32 bytes, its salt 16")
        self._key = key
        self.salt = salt

    def __repr__(self) -> str:
        return "SQLiteKey(<hidden>)"

    @property
    def secret(self) -> bytes:
        """The key's bytes (for deriving the lake's key from it)."""
        return self._key

    def pragma(self) -> str:
        """The ``PRAGMA key`` statement that opens (or creates) the file with this key."""
        return f"PRAGMA key = {self.literal()}"

    def literal(self) -> str:
        """The key as ``PRAGMA key`` and ``ATTACH ... KEY`` take it: raw key, then salt."""
        salt = self.salt.hex() if self.salt is not None else ""
        return f"\"x'{self._key.hex()}{salt}'\""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SQLiteKey) and secrets.compare_digest(self._key, other._key)

    def __hash__(self) -> int:
        return hash(hashlib.blake2b(self._key, digest_size=8).digest())


FileState = Literal["missing", "plaintext", "encrypted"]


def file_state(path: Path) -> FileState:
    """Whether ``path`` is absent (or empty), a plaintext SQLite file, or an encrypted one."""
    try:
        with path.open("rb") as file:
            head = file.read(len(PLAINTEXT_HEADER))
    except FileNotFoundError:
        return "missing"
    if not head:
        return "missing"
    return "plaintext" if head == PLAINTEXT_HEADER else "encrypted"


@functools.lru_cache(maxsize=8)
def _stretch(passphrase: str, salt: bytes) -> bytes:
    # Cached: every connection of the process uses the key, Argon2id runs once per file.
    return bytes(
        nacl.pwhash.argon2id.kdf(32, passphrase.encode(), salt, opslimit=KDF_PASSES, memlimit=KDF_MEMORY_BYTES)
    )


def key_from_passphrase(passphrase: str, path: Path) -> SQLiteKey:
    """The key ``passphrase`` gives for the file at ``path`` (salted with its salt, or a
    new salt the file will be created with)."""
    if not passphrase:
        raise ValidationError("the database passphrase is empty", field="PRISM_DATABASE_PASSPHRASE")
    salt = _file_salt(path) or secrets.token_bytes(_SALT_BYTES)
    return SQLiteKey(_stretch(passphrase, salt), salt)


def _file_salt(path: Path) -> bytes | None:
    if file_state(path) != "encrypted":
        return None
    with path.open("rb") as file:
        return file.read(_SALT_BYTES)


def _keyring_key(path: Path, *, create: bool) -> SQLiteKey | None:
    try:
        import keyring  # noqa: PLC0415 - optional: only a keyring user pays its import
        from keyring.errors import KeyringError  # noqa: PLC0415
    except ImportError:
        raise ValidationError(
            "the keyring package is not installed (pip install keyring)", field="PRISM_DATABASE_KEY_SOURCE"
        ) from None
    name = str(path.resolve())
    try:
        stored = keyring.get_password(_KEYRING_SERVICE, name)
        if stored is None and create:
            stored = secrets.token_hex(32)
            keyring.set_password(_KEYRING_SERVICE, name, stored)
    except KeyringError as error:
        raise ValidationError(
            f"the OS keyring cannot hold the database key here: {error}", field="PRISM_DATABASE_KEY_SOURCE"
        ) from None
    return None if stored is None else SQLiteKey(bytes.fromhex(stored))


def database_key(settings: DatabaseSettings, *, create: bool | None = None) -> SQLiteKey | None:
    """The key that opens the device database, or None for a plaintext one.

    ``create`` (default: whether encryption is asked for) lets the keyring make a key
    when it holds none yet. An encrypted file without a key source is a clear error,
    not a failed query later.
    """
    path = settings.sqlite_path
    if path is None:
        return None
    state = file_state(path)
    wanted = settings.encrypt or state == "encrypted"
    if not wanted:
        return None
    if settings.key_source == "keyring":
        found = _keyring_key(path, create=settings.encrypt if create is None else create)
        if found is not None:
            return found
    elif settings.passphrase:
        return key_from_passphrase(settings.passphrase, path)
    raise ValidationError(
        f"the database {path} is encrypted: give its passphrase (PRISM_DATABASE_PASSPHRASE) "
        "or use the OS keyring (PRISM_DATABASE_KEY_SOURCE=keyring)"
        if state == "encrypted"
        else "encryption needs a passphrase (PRISM_DATABASE_PASSPHRASE) or the OS keyring",
        field="PRISM_DATABASE_PASSPHRASE",
    )


def sqlcipher_module() -> Any:
    """SQLCipher's build of the ``sqlite3`` driver (it opens plaintext files too)."""
    import sqlcipher3.dbapi2  # noqa: PLC0415 - a plaintext device never loads SQLCipher

    return sqlcipher3.dbapi2


def sqlite_module(key: SQLiteKey | None) -> Any:
    """The DB-API module for a file with ``key``: ``sqlcipher3`` when encrypted."""
    return sqlite3 if key is None else sqlcipher_module()


def fresh_key(passphrase: str) -> SQLiteKey:
    """The key ``passphrase`` gives a new file, with a new random salt."""
    if not passphrase:
        raise ValidationError("the database passphrase is empty", field="passphrase")
    salt = secrets.token_bytes(_SALT_BYTES)
    return SQLiteKey(_stretch(passphrase, salt), salt)


def apply_key(connection: Any, key: SQLiteKey | None, path: object) -> None:
    """Give ``connection`` its key and prove it opens the file (:class:`WrongKeyError`)."""
    if key is None:
        return
    # SQLCipher would print its own complaint about a wrong key to stderr.
    connection.execute("PRAGMA cipher_log_level = NONE")
    connection.execute(key.pragma())
    # Spilled sorts and temporary tables stay in memory: SQLCipher does not encrypt them.
    connection.execute("PRAGMA temp_store = MEMORY")
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except Exception as error:
        if "not a database" in str(error):
            connection.close()
            raise WrongKeyError(f"the key does not open the database {path} (wrong passphrase?)") from None
        raise


def connect_sqlite(path: Path | str, key: SQLiteKey | None, **options: Any) -> Any:
    """A DB-API connection to the file at ``path``, opened with ``key`` when encrypted."""
    connection = sqlite_module(key).connect(str(path), **options)
    apply_key(connection, key, path)
    return connection


def check_key(settings: DatabaseSettings) -> None:
    """Fail now, with a clear error, when the device file cannot be opened with its key
    (rather than from inside a server's start-up)."""
    path = settings.sqlite_path
    key = database_key(settings)
    if path is not None and key is not None and file_state(path) == "encrypted":
        connect_sqlite(path, key).close()
