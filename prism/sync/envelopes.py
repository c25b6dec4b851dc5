"""Key envelopes (docs/sync-protocol.md §8): every data key sealed to every recipient.

A recipient is an X25519 public key: each enrolled device's (derived from its Ed25519
key), the passphrase's (derived from Argon2id of the passphrase) and the recovery key's.
An envelope is a libsodium sealed box holding ``[account_id, owner_id, key_id,
data_key]``, so any device can seal a new data key to every recipient without knowing
the passphrase or the recovery key, and the relay, holding only envelopes and public
keys, can open none.
"""

from __future__ import annotations

import base64
import hashlib
import uuid

import msgspec
import nacl.exceptions
import nacl.public
import nacl.pwhash.argon2id
import nacl.signing

from prism.errors import ChangeSetRejectedError, ValidationError
from prism.sync.keys import AccountKey, DeviceKeys, KdfParams, open_with_data_key, seal_with_data_key

__all__ = [
    "PASSPHRASE",
    "RECOVERY",
    "AccountCard",
    "device_box_key",
    "device_public",
    "device_recipient",
    "invitation_recipient",
    "invitation_secrets",
    "open_account_card",
    "open_envelope",
    "passphrase_secrets",
    "recovery_secrets",
    "seal_account_card",
    "seal_envelope",
]

#: Recipient names besides ``device:<id>``.
PASSPHRASE = "passphrase"
RECOVERY = "recovery"


def device_recipient(device_id: str) -> str:
    """The recipient name of a device."""
    return f"device:{device_id}"


def device_box_key(keys: DeviceKeys) -> nacl.public.PrivateKey:
    """The device's X25519 key, derived from its Ed25519 signing key (one secret to keep)."""
    return keys.signing_key.to_curve25519_private_key()


def device_public(verify_key_b64: str) -> nacl.public.PublicKey:
    """A device's X25519 public key from the Ed25519 key its card vouches for."""
    return nacl.signing.VerifyKey(base64.b64decode(verify_key_b64)).to_curve25519_public_key()


def passphrase_secrets(passphrase: str, params: KdfParams) -> tuple[nacl.public.PrivateKey, bytes]:
    """The passphrase's X25519 key and join token (Argon2id to 64 bytes, split in two)."""
    if params.alg != "argon2id13":
        raise ValidationError(f"unknown key derivation {params.alg!r}", field="kdf")
    stretched = nacl.pwhash.argon2id.kdf(
        64, passphrase.encode(), base64.b64decode(params.salt), opslimit=params.ops, memlimit=params.mem_kib * 1024
    )
    return nacl.public.PrivateKey.from_seed(stretched[:32]), stretched[32:]


def recovery_secrets(recovery_key: bytes) -> tuple[nacl.public.PrivateKey, bytes]:
    """The recovery key's X25519 key and join token (it has 256 bits: no stretching needed)."""
    seed = hashlib.blake2b(recovery_key, digest_size=32, person=b"prism-rec-box").digest()
    token = hashlib.blake2b(recovery_key, digest_size=32, person=b"prism-rec-join").digest()
    return nacl.public.PrivateKey.from_seed(seed), token


def invitation_secrets(secret: bytes) -> tuple[nacl.public.PrivateKey, bytes]:
    """A one-time enrolment code's X25519 key and join token (128 random bits: no stretching)."""
    seed = hashlib.blake2b(secret, digest_size=32, person=b"prism-inv-box").digest()
    token = hashlib.blake2b(secret, digest_size=32, person=b"prism-inv-join").digest()
    return nacl.public.PrivateKey.from_seed(seed), token


def invitation_recipient(token: bytes) -> str:
    """Where an invitation's envelopes wait: named by its token's hash, so only the code finds them."""
    return "invite:" + hashlib.sha256(token).hexdigest()[:32]


class _Sealed(msgspec.Struct, array_like=True, frozen=True):
    account_id: uuid.UUID
    owner_id: uuid.UUID
    key_id: str
    data_key: bytes


def seal_envelope(recipient: nacl.public.PublicKey, account_id: uuid.UUID, key: AccountKey) -> bytes:
    """``key`` sealed to ``recipient``, naming the relay account it belongs to."""
    plain = msgspec.msgpack.encode(_Sealed(account_id, key.owner_id, key.key_id, key.data_key))
    return bytes(nacl.public.SealedBox(recipient).encrypt(plain))


def open_envelope(private: nacl.public.PrivateKey, account_id: uuid.UUID, sealed: bytes) -> AccountKey:
    """The data key in an envelope sealed to ``private``'s public key, for ``account_id``."""
    try:
        found = msgspec.msgpack.decode(nacl.public.SealedBox(private).decrypt(sealed), type=_Sealed)
    except (nacl.exceptions.CryptoError, msgspec.DecodeError, ValueError):
        raise ValidationError("this key cannot open the envelope", field="key") from None
    if found.account_id != account_id:
        raise ChangeSetRejectedError("an envelope of another account")
    return AccountKey(found.owner_id, found.key_id, found.data_key)


class AccountCard(msgspec.Struct, array_like=True, frozen=True):
    """The account's non-device recipients, vouched for by the data key (the relay cannot swap them)."""

    passphrase_public: bytes
    recovery_public: bytes


_ACCOUNT_CARD = b"prism-account-card-v1"


def seal_account_card(keys: DeviceKeys, card: AccountCard) -> bytes:
    """The card sealed under the current data key."""
    return seal_with_data_key(keys, _ACCOUNT_CARD, msgspec.msgpack.encode(card))


def open_account_card(sealed: bytes, keys: DeviceKeys) -> AccountCard:
    """The account card, or :class:`ChangeSetRejectedError` if no data key of ours made it."""
    _key_id, plain = open_with_data_key(keys, _ACCOUNT_CARD, sealed)
    try:
        return msgspec.msgpack.decode(plain, type=AccountCard)
    except msgspec.DecodeError:
        raise ChangeSetRejectedError("an account card that no holder of the data key made") from None
