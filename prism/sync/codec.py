"""Sealed change sets (docs/sync-protocol.md §4): msgpack, zstd, padding, AEAD, signature.

``seal`` turns a device's changes into bytes only the account's devices can read and
only that device could have written; ``unseal`` checks everything before returning
anything, so a tampered, truncated, misdirected, wrongly keyed, wrongly signed, replayed
or out-of-order change set yields :class:`~prism.errors.ChangeSetRejectedError` and
nothing to apply.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import msgspec
import nacl.bindings
import nacl.exceptions
import nacl.signing
import nacl.utils
import zstandard

from prism.errors import ChangeSetRejectedError

__all__ = [
    "FORMAT_VERSION",
    "MAX_PLAINTEXT",
    "ChangeSetHeader",
    "WireChange",
    "bucket_size",
    "read_header",
    "seal",
    "split_changes",
    "unseal",
]

FORMAT_VERSION = 1
#: No change set carries more than this much msgpack before compression.
MAX_PLAINTEXT = 1 << 20
_MIN_BUCKET = 1 << 10
_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class ChangeSetHeader(msgspec.Struct, array_like=True, frozen=True):
    """The envelope header: visible to the relay, bound to the ciphertext as associated data."""

    version: int
    account_id: uuid.UUID
    device_id: str
    key_id: str
    schema_version: str
    device_seq: int
    set_id: uuid.UUID


class WireChange(msgspec.Struct, array_like=True, frozen=True):
    """One log row as it travels (docs/sync-protocol.md §2)."""

    hlc: int
    device_id: str
    table: str
    row_id: str
    op: str
    columns: dict[str, Any]


class _Envelope(msgspec.Struct, array_like=True):
    header: bytes
    nonce: bytes
    ciphertext: bytes
    signature: bytes


_payload_encoder = msgspec.msgpack.Encoder()
_payload_decoder = msgspec.msgpack.Decoder(tuple[str, list[WireChange]])
_header_decoder = msgspec.msgpack.Decoder(ChangeSetHeader)
_envelope_decoder = msgspec.msgpack.Decoder(_Envelope)


def bucket_size(length: int) -> int:
    """The padded size for ``length`` bytes: the next power of two, at least 1 KiB."""
    size = _MIN_BUCKET
    while size < length + 1:
        size <<= 1
    return size


def _pad(data: bytes) -> bytes:
    # ISO/IEC 7816-4: a 0x80 marker, then zeros, so only the bucket leaks.
    return data + b"\x80" + bytes(bucket_size(len(data)) - len(data) - 1)


def _unpad(data: bytes) -> bytes:
    end = len(data.rstrip(b"\x00"))
    if end == 0 or data[end - 1] != 0x80:
        raise ChangeSetRejectedError("bad padding")
    return data[: end - 1]


def _signed_part(header: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    return len(header).to_bytes(4, "big") + header + nonce + ciphertext


def seal(
    header: ChangeSetHeader,
    changes: Sequence[WireChange],
    *,
    data_key: bytes,
    signing_key: nacl.signing.SigningKey,
) -> bytes:
    """The sealed, signed bytes of ``changes`` under ``header``."""
    payload = _payload_encoder.encode((header.schema_version, list(changes)))
    if len(payload) > MAX_PLAINTEXT:
        raise ValueError("too many changes for one change set; use split_changes")
    padded = _pad(zstandard.ZstdCompressor(level=3).compress(payload))
    header_bytes = msgspec.msgpack.encode(header)
    nonce = nacl.utils.random(_NONCE_BYTES)
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, header_bytes, nonce, data_key)
    signature = signing_key.sign(_signed_part(header_bytes, nonce, ciphertext)).signature
    return msgspec.msgpack.encode(_Envelope(header_bytes, nonce, ciphertext, signature))


def read_header(sealed: bytes) -> ChangeSetHeader:
    """The header of a sealed change set, unverified (what a relay may look at)."""
    try:
        return _header_decoder.decode(_envelope_decoder.decode(sealed).header)
    except msgspec.DecodeError:
        raise ChangeSetRejectedError("malformed envelope") from None


def unseal(
    sealed: bytes,
    *,
    account_id: uuid.UUID,
    verify_key: nacl.signing.VerifyKey,
    data_keys: Mapping[str, bytes],
    last_seq: int,
) -> tuple[ChangeSetHeader, list[WireChange]]:
    """Check and open a change set from the device whose key is ``verify_key``.

    ``last_seq`` is the sequence number last applied from that device; the set must be
    exactly the next one.
    """
    try:
        envelope = _envelope_decoder.decode(sealed)
        header = _header_decoder.decode(envelope.header)
    except msgspec.DecodeError:
        raise ChangeSetRejectedError("malformed envelope") from None
    try:
        verify_key.verify(_signed_part(envelope.header, envelope.nonce, envelope.ciphertext), envelope.signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise ChangeSetRejectedError("bad signature") from None
    _check_header(header, account_id, last_seq)
    key = data_keys.get(header.key_id)
    if key is None:
        raise ChangeSetRejectedError(f"unknown key {header.key_id}")
    try:
        padded = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            envelope.ciphertext, envelope.header, envelope.nonce, key
        )
    except (nacl.exceptions.CryptoError, ValueError):
        raise ChangeSetRejectedError("cannot decrypt: wrong key or altered") from None
    try:
        payload = zstandard.ZstdDecompressor().decompress(_unpad(padded), max_output_size=MAX_PLAINTEXT)
        schema_version, changes = _payload_decoder.decode(payload)
    except (zstandard.ZstdError, msgspec.DecodeError):
        raise ChangeSetRejectedError("malformed payload") from None
    if schema_version != header.schema_version:
        raise ChangeSetRejectedError("schema version differs from the header's")
    return header, changes


def _check_header(header: ChangeSetHeader, account_id: uuid.UUID, last_seq: int) -> None:
    if header.version != FORMAT_VERSION:
        raise ChangeSetRejectedError(f"unknown format version {header.version}")
    if header.account_id != account_id:
        raise ChangeSetRejectedError("addressed to another account")
    if header.device_seq <= last_seq:
        raise ChangeSetRejectedError("replayed: already applied")
    if header.device_seq != last_seq + 1:
        raise ChangeSetRejectedError(f"gap: expected sequence {last_seq + 1}, got {header.device_seq}")


def split_changes(changes: Sequence[WireChange], max_bytes: int = MAX_PLAINTEXT // 2) -> Iterator[list[WireChange]]:
    """``changes`` in order, cut into batches whose encoding stays under ``max_bytes``."""
    batch: list[WireChange] = []
    size = 0
    for change in changes:
        length = len(_payload_encoder.encode(change))
        if batch and size + length > max_bytes:
            yield batch
            batch, size = [], 0
        batch.append(change)
        size += length
    if batch:
        yield batch
