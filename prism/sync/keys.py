"""Sync keys, for now (docs/sync-protocol.md §8): the account data key, its passphrase
wrap, device cards, and the device's key file.

* A **data key** (32 random bytes, named by a key id) seals change sets. The first
  device makes one; revoking a device makes the next. They reach devices only as
  envelopes sealed to each recipient (:mod:`prism.sync.envelopes`).
* A **device card** is a device's id and public key sealed under the data key, so
  peers accept only devices enrolled by someone holding the key: the relay cannot
  slip in a device of its own.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from pathlib import Path

import msgspec
import nacl.bindings
import nacl.exceptions
import nacl.pwhash.argon2id
import nacl.signing
import nacl.utils

from prism.errors import ChangeSetRejectedError, ValidationError
from prism.sync.key_file import KeyFile, key_file, read_key_file, write_key_file

__all__ = [
    "AccountKey",
    "DeviceKeys",
    "KdfParams",
    "join_verifier",
    "load_device_keys",
    "new_account_key",
    "new_kdf_params",
    "open_card",
    "open_with_data_key",
    "save_device_keys",
    "seal_card",
    "seal_with_data_key",
]

_NONCE = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class KdfParams(msgspec.Struct, frozen=True, kw_only=True):
    """Argon2id parameters of one passphrase wrap (public: the relay stores them)."""

    alg: str = "argon2id13"
    salt: str  # base64, 16 bytes
    ops: int
    mem_kib: int


class AccountKey(msgspec.Struct, frozen=True, array_like=True):
    """A data key, its id, and the account (owner) whose rows it protects."""

    owner_id: uuid.UUID
    key_id: str
    data_key: bytes


class DeviceKeys(msgspec.Struct, frozen=True, kw_only=True):
    """Everything secret a device needs to sync, kept in its key file."""

    owner_id: uuid.UUID
    account_id: uuid.UUID  # the relay account
    device_id: str
    signing_seed: bytes
    key_id: str  # the data key new change sets are sealed with
    data_keys: dict[str, bytes]
    # The account's other recipients (docs/sync-protocol.md §8): a new data key is sealed
    # to them too, so the passphrase and the recovery key keep opening every key.
    passphrase_public: bytes = b""
    recovery_public: bytes = b""

    @property
    def signing_key(self) -> nacl.signing.SigningKey:
        """The device's Ed25519 signing key."""
        return nacl.signing.SigningKey(self.signing_seed)

    @property
    def data_key(self) -> bytes:
        """The current data key."""
        return self.data_keys[self.key_id]

    @property
    def verify_key_b64(self) -> str:
        """The device's public key as the relay stores it."""
        return base64.b64encode(bytes(self.signing_key.verify_key)).decode()


def new_account_key(owner_id: uuid.UUID) -> AccountKey:
    """A fresh random data key for ``owner_id``."""
    return AccountKey(owner_id, secrets.token_hex(8), nacl.utils.random(32))


def new_kdf_params(ops: int, mem_kib: int) -> KdfParams:
    """Parameters with a fresh salt; refuses costs below libsodium's minimums."""
    if ops < nacl.pwhash.argon2id.OPSLIMIT_MIN:
        raise ValidationError(f"must be at least {nacl.pwhash.argon2id.OPSLIMIT_MIN}", field="PRISM_SYNC_KDF_OPS")
    if mem_kib * 1024 < nacl.pwhash.argon2id.MEMLIMIT_MIN:
        raise ValidationError("must be at least 8 KiB", field="PRISM_SYNC_KDF_MEM_KIB")
    salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
    return KdfParams(salt=base64.b64encode(salt).decode(), ops=ops, mem_kib=mem_kib)


def join_verifier(join_token: bytes) -> str:
    """What the relay keeps of a join token."""
    return hashlib.sha256(join_token).hexdigest()


def seal_with_data_key(keys: DeviceKeys, purpose: bytes, plain: bytes) -> bytes:
    """``plain`` sealed under the current data key, bound to ``purpose`` and the account:
    ``msgpack([key_id, nonce, XChaCha20-Poly1305(K, nonce, plain, purpose || account_id)])``."""
    nonce = nacl.utils.random(_NONCE)
    sealed = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(
        plain, purpose + keys.account_id.bytes, nonce, keys.data_key
    )
    return msgspec.msgpack.encode([keys.key_id, nonce, sealed])


def open_with_data_key(keys: DeviceKeys, purpose: bytes, sealed: bytes) -> tuple[str, bytes]:
    """``(key_id, plain)`` of what :func:`seal_with_data_key` made, or :class:`ChangeSetRejectedError`."""
    try:
        key_id, nonce, body = msgspec.msgpack.decode(sealed, type=tuple[str, bytes, bytes])
        plain = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            body, purpose + keys.account_id.bytes, nonce, keys.data_keys[key_id]
        )
    except (msgspec.DecodeError, KeyError, nacl.exceptions.CryptoError, ValueError):
        raise ChangeSetRejectedError(f"{purpose.decode()} that no holder of the data key made") from None
    return key_id, plain


_DEVICE_CARD = b"prism-device-card-v1"


def seal_card(keys: DeviceKeys) -> bytes:
    """This device's card: its id and public key, sealed under the current data key."""
    plain = msgspec.msgpack.encode([keys.key_id, keys.device_id, keys.verify_key_b64])
    return seal_with_data_key(keys, _DEVICE_CARD, plain)


def open_card(card: bytes, keys: DeviceKeys) -> tuple[str, str]:
    """``(device_id, verify_key)`` of a peer's card, or :class:`ChangeSetRejectedError`."""
    key_id, plain = open_with_data_key(keys, _DEVICE_CARD, card)
    try:
        inner_key_id, device_id, verify_key = msgspec.msgpack.decode(plain, type=tuple[str, str, str])
    except msgspec.DecodeError:
        raise ChangeSetRejectedError("a device card that no holder of the data key made") from None
    if inner_key_id != key_id:
        raise ChangeSetRejectedError("a device card that no holder of the data key made")
    return device_id, verify_key


_keys_codec = msgspec.msgpack.Decoder(DeviceKeys)


def save_device_keys(where: Path | KeyFile, keys: DeviceKeys) -> None:
    """Write the key file readable by its owner only, atomically (a crash leaves the old
    one), sealed when ``where`` carries a seal (:mod:`prism.sync.key_file`)."""
    file = key_file(where)
    write_key_file(file.path, msgspec.msgpack.encode(keys), file.seal)


def load_device_keys(where: Path | KeyFile) -> DeviceKeys | None:
    """The device's keys, or None when it has not joined a sync account."""
    plain = read_key_file(where)
    return None if plain is None else _keys_codec.decode(plain)
