"""Where the device's sync keys are kept, sealed when the device is encrypted at rest.

The key file holds the device's signing seed (its identity at the relay) and the
account's data keys (which open every change set): on a device whose database is
encrypted at rest, a plaintext key file would let a stolen laptop pull and read the
whole account from the relay. So the file is sealed with XChaCha20-Poly1305 under a key
derived from the database key (keyed BLAKE2b), and stays a plain file otherwise.

A key change (``prism db encrypt|decrypt|rekey``) writes the file in its new form
beside it first (``sync-keys.next``) and renames it into place once the database is
swapped; a reader tries the staged file first, so whichever database survives a crash,
the key file that fits it is found. A plaintext file read with a seal is sealed on the
spot.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import nacl.bindings
import nacl.exceptions
import nacl.utils

from prism.config import Settings
from prism.errors import ValidationError
from prism.storage.files import write_atomically
from prism.storage.sqlite_keys import SQLiteKey, database_key

__all__ = ["KeyFile", "device_key_file", "key_file", "read_key_file", "seal_for", "staged", "write_key_file"]

_MAGIC = b"prism-sealed-keys-1\n"
_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class KeyFile(NamedTuple):
    """The key file's path, and the key it is sealed under (None: a plain file)."""

    path: Path
    seal: bytes | None = None


def key_file(where: Path | KeyFile) -> KeyFile:
    """``where`` as a :class:`KeyFile` (a bare path is a plain file)."""
    return where if isinstance(where, KeyFile) else KeyFile(where)


def seal_for(key: SQLiteKey | None) -> bytes | None:
    """The key-file seal under database key ``key`` (None for a plaintext database)."""
    if key is None:
        return None
    return hashlib.blake2b(b"sync key file", key=key.secret, person=b"prism-keyfile", digest_size=32).digest()


def device_key_file(settings: Settings) -> KeyFile:
    """This device's key file, sealed when its database is encrypted."""
    return KeyFile(settings.sync_keys_path, seal_for(database_key(settings.database)))


def staged(path: Path) -> Path:
    """Where a key change writes the file's next form."""
    return path.with_name(path.name + ".next")


def write_key_file(path: Path, plain: bytes, seal: bytes | None) -> None:
    """Write ``plain`` (sealed under ``seal``) readable by its owner only, atomically."""
    body = plain
    if seal is not None:
        nonce = nacl.utils.random(_NONCE)
        body = _MAGIC + nonce + nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(plain, _MAGIC, nonce, seal)
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file 0600 from the start: the keys are never readable by others.
    write_atomically(path, body, prefix=f".{path.name}.tmp-")


def _opened(data: bytes, seal: bytes | None) -> bytes | None:
    if not data.startswith(_MAGIC):
        return data
    if seal is None:
        return None
    body = data[len(_MAGIC) :]
    try:
        return bytes(
            nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(body[_NONCE:], _MAGIC, body[:_NONCE], seal)
        )
    except nacl.exceptions.CryptoError:
        return None


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def read_key_file(where: Path | KeyFile) -> bytes | None:
    """The key file's plain bytes, or None when there is none.

    :class:`ValidationError` when it is sealed under a key other than ``seal``.
    """
    file = key_file(where)
    staged_data = _read(staged(file.path))
    if staged_data is not None and (plain := _opened(staged_data, file.seal)) is not None:
        os.replace(staged(file.path), file.path)  # the key change it was staged for happened
        stored = staged_data
    else:
        found = _read(file.path)
        if found is None:
            return None
        plain = _opened(found, file.seal)
        if plain is None:
            raise ValidationError(
                f"the sync key file {file.path} is sealed with another database key: "
                "give the database's passphrase (PRISM_DATABASE_PASSPHRASE)",
                field="PRISM_DATABASE_PASSPHRASE",
            )
        stored = found
    if file.seal is not None and not stored.startswith(_MAGIC):
        write_key_file(file.path, plain, file.seal)  # an encrypted device keeps no plain key file
    return plain
