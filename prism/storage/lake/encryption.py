"""Per-owner lake files at rest: Parquet modular encryption done by DuckDB.

When the device runs with at-rest encryption the lake is opened with a 32-byte
*owner key*. Every file of a per-owner dataset (``snapshots``, ``results``) is then
written as an encrypted Parquet file (footer and every column encrypted with
AES-GCM; the file ends in ``PARE`` instead of ``PAR1``). Each owner's files have
their own key, a keyed BLAKE2b of the owner's id under the owner key, so the key
of one owner opens nothing of another's. Shared market data stays plain Parquet.

Why DuckDB's Parquet encryption rather than sealing whole files (SecretBox over
the Parquet bytes): DuckDB reads encrypted files where they lie, in a folder and
on S3, with the same ``read_parquet`` the plaintext lake uses, so queries keep
projection and row-group skipping and no decrypted copy of a file is ever made,
in memory or on disk. AES-GCM authenticates every page, so a wrong key is refused
("AES tag differs") instead of yielding garbage. DuckDB writes only to a file, so a
sealed file is written to a private temporary folder and its bytes (ciphertext
only: DuckDB encrypts before it writes) are put like any other, then removed.
Writing needs OpenSSL, which DuckDB takes from the ``httpfs`` extension; a private
lake loads it (see :func:`prism.storage.lake.duck.connect_duckdb`), which also turns
off DuckDB's spilling of intermediate results to disk.

Small objects a job keeps beside an owner's files (a state record, say) are not
Parquet: they are sealed whole with XChaCha20-Poly1305 under a second key derived
from the owner key, bound to their path so one cannot stand in for another.
"""

from __future__ import annotations

import base64
import hashlib
import io
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb
import nacl.bindings
import nacl.exceptions
import nacl.utils
import pyarrow as pa
import pyarrow.parquet as pq

from prism.errors import StorageError, UnreadableDataError, ValidationError

__all__ = [
    "OWNER_KEY_BYTES",
    "add_duckdb_key",
    "check_owner_key",
    "describe_read_error",
    "duckdb_key_name",
    "is_sealed",
    "is_sealed_object",
    "open_object",
    "owner_file_key",
    "owner_object_key",
    "parquet_source",
    "read_error",
    "plain_parquet",
    "seal_object",
    "sealed_parquet",
]

OWNER_KEY_BYTES = 32
ROW_GROUP = 131_072
_PERSON = b"prism-lake-own"
_OBJECT_PERSON = b"prism-lake-obj"
_OBJECT_MAGIC = b"prism-sealed-1\n"
_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_PLAIN_MAGIC = b"PAR1"
_SEALED_MAGIC = b"PARE"
# What DuckDB says when a file and the key it was read with do not match.
_KEY_MISMATCH = ("AES tag differs", "is encrypted, but", "is not encrypted, but")


def check_owner_key(owner_key: bytes | None) -> bytes | None:
    """``owner_key`` if it is None or a 32-byte secret."""
    if owner_key is not None and (not isinstance(owner_key, bytes) or len(owner_key) != OWNER_KEY_BYTES):
        raise ValidationError(f"the lake's owner key must be {OWNER_KEY_BYTES} bytes", field="owner_key")
    return owner_key


def owner_file_key(owner_key: bytes, owner: uuid.UUID) -> bytes:
    """The key of ``owner``'s files: keyed BLAKE2b, so it reveals nothing of ``owner_key``."""
    return hashlib.blake2b(owner.bytes, key=owner_key, person=_PERSON, digest_size=32).digest()


def owner_object_key(owner_key: bytes, owner: uuid.UUID) -> bytes:
    """The key of ``owner``'s sealed objects (never the Parquet key: one key, one cipher)."""
    return hashlib.blake2b(owner.bytes, key=owner_key, person=_OBJECT_PERSON, digest_size=32).digest()


def seal_object(key: bytes, data: bytes, path: str) -> bytes:
    """``data`` encrypted and authenticated under ``key``, bound to the lake ``path``."""
    nonce = nacl.utils.random(_NONCE)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(data, path.encode(), nonce, key)
    return _OBJECT_MAGIC + nonce + sealed


def open_object(key: bytes, sealed: bytes, path: str) -> bytes:
    """The bytes :func:`seal_object` sealed at ``path``; a wrong key is a :class:`StorageError`."""
    body = sealed[len(_OBJECT_MAGIC) :]
    try:
        return nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body[_NONCE:], path.encode(), body[:_NONCE], key
        )
    except nacl.exceptions.CryptoError:
        raise UnreadableDataError(f"the lake object {path} does not open with the key this lake was given") from None


def is_sealed_object(data: bytes) -> bool:
    """Whether ``data`` is a sealed object (False: plain bytes)."""
    return data.startswith(_OBJECT_MAGIC)


def duckdb_key_name(owner: uuid.UUID) -> str:
    """The name DuckDB knows ``owner``'s file key by (one lake has one owner key)."""
    return f"prism_owner_{owner.hex}"


def add_duckdb_key(connection: duckdb.DuckDBPyConnection, name: str, key: bytes) -> None:
    """Make ``key`` known to ``connection``'s database as ``name``."""
    # A PRAGMA takes no bound parameters; base64 and the hex name need no quoting.
    connection.execute(f"PRAGMA add_parquet_key('{name}', '{base64.b64encode(key).decode()}')")


def parquet_source(uris: Sequence[str], key_name: str | None) -> str:
    """A ``read_parquet`` over ``uris`` (decrypting with the DuckDB key ``key_name``, if any)."""
    listed = ", ".join("'" + uri.replace("'", "''") + "'" for uri in uris)
    sealed = f", encryption_config = {{footer_key: '{key_name}'}}" if key_name else ""
    return f"read_parquet([{listed}], hive_partitioning = false{sealed})"


def plain_parquet(table: pa.Table) -> bytes:
    """``table`` as an unencrypted Parquet file."""
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", row_group_size=ROW_GROUP, write_statistics=True)
    return sink.getvalue()


def sealed_parquet(connection: duckdb.DuckDBPyConnection, table: pa.Table, key_name: str) -> bytes:
    """``table`` as a Parquet file encrypted with the DuckDB key ``key_name``."""
    view = f"sealing_{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory(prefix="prism-lake-") as folder:
        path = Path(folder) / "sealed.parquet"
        connection.register(view, table)
        try:
            target = str(path).replace("'", "''")
            connection.execute(
                f"COPY {view} TO '{target}' (FORMAT parquet, COMPRESSION zstd, "
                f"ROW_GROUP_SIZE {ROW_GROUP}, ENCRYPTION_CONFIG {{footer_key: '{key_name}'}})"
            )
        finally:
            connection.unregister(view)
        return path.read_bytes()


def is_sealed(data: bytes) -> bool:
    """Whether ``data`` is an encrypted Parquet file (False: a plain one)."""
    magic = data[-4:]
    if data[:4] not in {_PLAIN_MAGIC, _SEALED_MAGIC} or magic not in {_PLAIN_MAGIC, _SEALED_MAGIC}:
        raise ValueError("not a Parquet file")
    return magic == _SEALED_MAGIC


def describe_read_error(error: duckdb.Error) -> str:
    """What went wrong, in words that name a key mismatch as one."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if any(marker in text for marker in _KEY_MISMATCH):
        return f"the lake's per-owner files do not open with the key this lake was given (resealed to another?): {text}"
    return text


def read_error(error: duckdb.Error, doing: str) -> StorageError:
    """The error to raise for a failed read: :class:`UnreadableDataError` for a key mismatch."""
    text = describe_read_error(error)
    kind = UnreadableDataError if text.startswith("the lake's per-owner files do not open") else StorageError
    return kind(f"{doing} failed: {text}")
