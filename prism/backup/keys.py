"""A repository's ``config``, its keyring, and the key files that wrap the keyring.

The keyring (docs/backup-format.md, "Keys") holds the chunk-id key, which never changes,
and one encryption key per generation. A key file wraps the whole keyring under a
passphrase (Argon2id) or under the sync account's data key; rotating after a device is
revoked adds a generation and re-wraps the keyring under the new data key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import msgspec
import nacl.bindings
import nacl.exceptions
import nacl.pwhash.argon2id
import nacl.utils

from prism.backup.stores import BlobStore
from prism.errors import (
    ConflictError,
    NotFoundError,
    RepositoryDamagedError,
    RepositoryError,
    ValidationError,
    WrongKeyError,
)
from prism.sync.keys import DeviceKeys

__all__ = [
    "FORMAT",
    "KeySource",
    "Keyring",
    "Repository",
    "RepositoryConfig",
    "add_key",
    "init_repository",
    "open_repository",
    "read_config",
    "rekey_repository",
]

FORMAT = 1
KeySource = str | DeviceKeys
_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_KEYRING_AD = b"prism-backup-keyring-v1"


class RepositoryConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The plaintext ``config`` blob: format, id, and how data is cut and packed."""

    format: int = FORMAT
    id: str
    db_chunk_size: int = 8 * 1024
    file_chunk_size: int = 4 * 1024 * 1024
    pack_size: int = 16 * 1024 * 1024
    tree_span: int = 4096  # chunk ids per tree (docs/backup-format.md, "Trees")


class Keyring(msgspec.Struct, frozen=True, kw_only=True):
    """The chunk-id key and every generation's encryption key."""

    id_key: bytes
    keys: dict[int, bytes]
    current: int

    def __repr__(self) -> str:  # never print key material
        return f"Keyring(generations={sorted(self.keys)}, current={self.current})"

    def chunk_id(self, data: bytes) -> bytes:
        """The chunk's id: BLAKE2b-256 keyed with the id key."""
        return hashlib.blake2b(data, digest_size=32, key=self.id_key).digest()

    def key(self, generation: int) -> bytes:
        """The encryption key of ``generation``."""
        try:
            return self.keys[generation]
        except KeyError:
            raise WrongKeyError(
                f"this key does not hold key generation {generation}: it was revoked or is out of date"
            ) from None


class _Kdf(msgspec.Struct, frozen=True, kw_only=True):
    alg: str = "argon2id13"
    salt: str
    ops: int
    mem_kib: int


class _KeyFile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    format: int = FORMAT
    kind: Literal["passphrase", "account"]
    kdf: _Kdf | None = None
    key_id: str | None = None
    created: str
    generation: int
    nonce: str
    keyring: str


@dataclass(frozen=True)
class Repository:
    """An opened repository: its store, config and keyring."""

    store: BlobStore
    config: RepositoryConfig
    keyring: Keyring


def read_config(store: BlobStore) -> RepositoryConfig:
    """The repository's ``config``; :class:`NotFoundError` when none was initialised there."""
    try:
        raw = store.get("config")
    except NotFoundError:
        raise NotFoundError(f"no backup repository at {store!r}: run `prism backup init`") from None
    try:
        config = msgspec.json.decode(raw, type=RepositoryConfig)
    except msgspec.DecodeError as error:
        raise RepositoryDamagedError(f"the repository's config is damaged: {error}") from None
    if config.format != FORMAT:
        raise RepositoryError(f"repository format {config.format} is not supported (this Prism reads {FORMAT})")
    return config


def init_repository(
    store: BlobStore,
    key_source: KeySource,
    *,
    db_chunk_size: int = 8 * 1024,
    pack_size: int = 16 * 1024 * 1024,
    tree_span: int = 4096,
    kdf_ops: int = 3,
    kdf_mem_kib: int = 64 * 1024,
) -> RepositoryConfig:
    """Create an empty repository whose keyring ``key_source`` wraps; refuses an existing one."""
    if store.list("config"):
        raise ConflictError(f"{store!r} already holds a backup repository")
    if db_chunk_size & (db_chunk_size - 1) or not 4096 <= db_chunk_size <= 65536:
        raise ValidationError("must be a power of two from 4096 to 65536", field="db_chunk_size")
    if not 64 * 1024 <= pack_size <= 128 * 1024 * 1024:
        raise ValidationError("must be from 64 KiB to 128 MiB", field="pack_size")
    if not 16 <= tree_span <= 65536:
        raise ValidationError("must be from 16 to 65536", field="tree_span")
    config = RepositoryConfig(
        id=secrets.token_hex(16), db_chunk_size=db_chunk_size, pack_size=pack_size, tree_span=tree_span
    )
    keyring = Keyring(id_key=nacl.utils.random(32), keys={1: nacl.utils.random(32)}, current=1)
    # The key file first: a config without a key file would be a repository nobody can open.
    _write_key_file(store, config, keyring, key_source, kdf_ops=kdf_ops, kdf_mem_kib=kdf_mem_kib)
    store.put("config", msgspec.json.encode(config))
    return config


def open_repository(store: BlobStore, key_source: KeySource) -> Repository:
    """The repository with its keyring opened by ``key_source``; :class:`WrongKeyError` if none opens."""
    config = read_config(store)
    keyring, _ = _open_keyring(store, config, key_source)
    return Repository(store=store, config=config, keyring=keyring)


def add_key(store: BlobStore, key_source: KeySource, new_source: KeySource) -> str:
    """Wrap the keyring ``key_source`` opens under ``new_source`` too; the new key file's name."""
    config = read_config(store)
    keyring, _ = _open_keyring(store, config, key_source)
    return _write_key_file(store, config, keyring, new_source)


def rekey_repository(store: BlobStore, old_source: KeySource, new_source: KeySource) -> int:
    """Start a new key generation wrapped only by ``new_source``; the new generation's number.

    Older generations travel inside the new keyring, so every snapshot stays restorable;
    every other key file is deleted, so a revoked device's key opens nothing sealed from
    now on (docs/backup-format.md says what it still can read).
    """
    config = read_config(store)
    keyring, _ = _open_keyring(store, config, old_source)
    generation = max(keyring.keys) + 1
    rotated = Keyring(
        id_key=keyring.id_key, keys={**keyring.keys, generation: nacl.utils.random(32)}, current=generation
    )
    kept = _write_key_file(store, config, rotated, new_source)
    for name in store.list("keys/"):
        if name != kept:
            store.delete(name)
    return generation


def _kek(key_file: _KeyFile, source: KeySource) -> bytes | None:
    if key_file.kind == "passphrase":
        if not isinstance(source, str) or key_file.kdf is None:
            return None
        kdf = key_file.kdf
        salt = base64.b64decode(kdf.salt)
        derived: bytes = nacl.pwhash.argon2id.kdf(
            32, source.encode(), salt, opslimit=kdf.ops, memlimit=kdf.mem_kib * 1024
        )
        return derived
    if isinstance(source, DeviceKeys) and key_file.key_id is not None:
        return source.data_keys.get(key_file.key_id)
    return None


def _open_keyring(store: BlobStore, config: RepositoryConfig, source: KeySource) -> tuple[Keyring, str]:
    files: list[tuple[_KeyFile, str]] = []
    for name in store.list("keys/"):
        try:
            files.append((msgspec.json.decode(store.get(name), type=_KeyFile), name))
        except NotFoundError:
            continue  # deleted by a concurrent rekey
        except msgspec.DecodeError:
            raise RepositoryDamagedError(f"the key file {name} is damaged") from None
    if not files:
        raise RepositoryDamagedError("the repository has no key file")
    ad = _KEYRING_AD + bytes.fromhex(config.id)
    for key_file, name in sorted(files, key=lambda pair: -pair[0].generation):
        kek = _kek(key_file, source)
        if kek is None:
            continue
        try:
            plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
                base64.b64decode(key_file.keyring), ad, base64.b64decode(key_file.nonce), kek
            )
        except (nacl.exceptions.CryptoError, ValueError):
            continue
        return msgspec.msgpack.decode(plain, type=Keyring), name
    what = "passphrase" if isinstance(source, str) else "account's data keys"
    raise WrongKeyError(f"no key file of the backup repository opens with this {what}")


def _write_key_file(
    store: BlobStore,
    config: RepositoryConfig,
    keyring: Keyring,
    source: KeySource,
    *,
    kdf_ops: int = 3,
    kdf_mem_kib: int = 64 * 1024,
) -> str:
    created = datetime.now(UTC).isoformat(timespec="seconds")
    if isinstance(source, str):
        if not source:
            raise ValidationError("the backup passphrase is empty", field="PRISM_BACKUP_PASSPHRASE")
        if kdf_ops < nacl.pwhash.argon2id.OPSLIMIT_MIN or kdf_mem_kib * 1024 < nacl.pwhash.argon2id.MEMLIMIT_MIN:
            raise ValidationError("Argon2id costs below libsodium's minimums", field="kdf")
        kdf = _Kdf(salt=base64.b64encode(nacl.utils.random(16)).decode(), ops=kdf_ops, mem_kib=kdf_mem_kib)
        template = _KeyFile(
            kind="passphrase", kdf=kdf, created=created, generation=keyring.current, nonce="", keyring=""
        )
    else:
        template = _KeyFile(
            kind="account", key_id=source.key_id, created=created, generation=keyring.current, nonce="", keyring=""
        )
    kek = _kek(template, source)
    assert kek is not None  # the template was built for this source
    nonce = nacl.utils.random(_NONCE)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        msgspec.msgpack.encode(keyring), _KEYRING_AD + bytes.fromhex(config.id), nonce, kek
    )
    key_file = msgspec.structs.replace(
        template, nonce=base64.b64encode(nonce).decode(), keyring=base64.b64encode(sealed).decode()
    )
    name = f"keys/{secrets.token_hex(8)}"
    store.put(name, json.dumps(msgspec.to_builtins(key_file), indent=1).encode())
    return name
