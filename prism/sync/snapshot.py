"""Snapshots of a device's synced state (docs/sync-protocol.md §10).

A snapshot is the compacted change log: per synced row and column, the winning
``(value, hlc, device_id)``, sent as ordinary :class:`~prism.sync.codec.WireChange`\\ s
so a device restoring it merges through :func:`~prism.sync.merge.apply_changes` and
later merges still compare against the true HLCs. It is cut into chunks sealed like
change sets, but under a :class:`SnapshotHeader` whose first field is a string where a
change set's is an integer, and signed with its own domain tag: a chunk can never be
read, verified or applied as a change set, nor a change set as a chunk.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import nacl.bindings
import nacl.exceptions
import nacl.signing
import nacl.utils
import zstandard
from sqlalchemy import Connection, Text, cast, func, select, update

from prism.errors import ChangeSetRejectedError, ConflictError
from prism.storage.projection import rebuild_stale
from prism.storage.tables import changes, sync_held_changes, sync_held_sets, sync_links, sync_outbox, sync_peers
from prism.sync.bulk_restore import holds_nothing, restore_fresh
from prism.sync.codec import MAX_PLAINTEXT, WireChange, bucket_size, split_changes
from prism.sync.fold import Logged, fold
from prism.sync.held_changes import hold_changes, split_known
from prism.sync.keys import DeviceKeys
from prism.sync.link import read_link
from prism.sync.merge import apply_changes

__all__ = [
    "SNAPSHOT_KIND",
    "RestoreReport",
    "SnapshotHeader",
    "compacted_changes",
    "peer_verify_keys",
    "read_snapshot_header",
    "restore_snapshot",
    "seal_chunk",
    "take_snapshot",
    "unseal_chunk",
]

SNAPSHOT_KIND = "prism-snapshot"
_VERSION = 1
_SIGNING_TAG = b"prism-snapshot-v1"
_NONCE_BYTES = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class SnapshotHeader(msgspec.Struct, array_like=True, frozen=True):
    """A chunk's envelope header: visible to the relay, bound to the ciphertext as associated data."""

    kind: str  # SNAPSHOT_KIND; a change set header starts with an integer, so neither decodes as the other
    version: int
    account_id: uuid.UUID
    device_id: str
    key_id: str
    schema_version: str
    snapshot_id: uuid.UUID
    covers_seq: int  # relay sets up to here are inside
    chunk: int
    last: bool


class _Envelope(msgspec.Struct, array_like=True):
    header: bytes
    nonce: bytes
    ciphertext: bytes
    signature: bytes


#: Inside the ciphertext: the schema, each device's last sequence covered, the changes.
_Payload = tuple[str, dict[str, int], list[WireChange]]
_encoder = msgspec.msgpack.Encoder()
_payload_decoder = msgspec.msgpack.Decoder(_Payload)
_header_decoder = msgspec.msgpack.Decoder(SnapshotHeader)
_envelope_decoder = msgspec.msgpack.Decoder(_Envelope)
_columns_decoder = msgspec.json.Decoder(dict[str, Any])


def _signed_part(header: bytes, nonce: bytes, ciphertext: bytes) -> bytes:
    return _SIGNING_TAG + len(header).to_bytes(4, "big") + header + nonce + ciphertext


def seal_chunk(
    header: SnapshotHeader,
    covered: Mapping[str, int],
    batch: Sequence[WireChange],
    *,
    data_key: bytes,
    signing_key: nacl.signing.SigningKey,
) -> bytes:
    """The sealed, signed bytes of one chunk."""
    payload = _encoder.encode((header.schema_version, dict(covered), list(batch)))
    if len(payload) > MAX_PLAINTEXT:
        raise ValueError("too many changes for one snapshot chunk")
    compressed = zstandard.ZstdCompressor(level=3).compress(payload)
    # Padded like a change set (ISO/IEC 7816-4) so the relay learns only the bucket.
    padded = compressed + b"\x80" + bytes(bucket_size(len(compressed)) - len(compressed) - 1)
    header_bytes = _encoder.encode(header)
    nonce = nacl.utils.random(_NONCE_BYTES)
    ciphertext = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_encrypt(padded, header_bytes, nonce, data_key)
    signature = signing_key.sign(_signed_part(header_bytes, nonce, ciphertext)).signature
    return _encoder.encode(_Envelope(header_bytes, nonce, ciphertext, signature))


def read_snapshot_header(sealed: bytes) -> SnapshotHeader:
    """A chunk's header, unverified (what the relay files it by)."""
    try:
        header = _header_decoder.decode(_envelope_decoder.decode(sealed).header)
    except msgspec.DecodeError:
        raise ChangeSetRejectedError("not a snapshot chunk") from None
    if header.kind != SNAPSHOT_KIND or header.version != _VERSION:
        raise ChangeSetRejectedError("not a snapshot chunk of a known version")
    return header


def unseal_chunk(
    sealed: bytes,
    *,
    account_id: uuid.UUID,
    snapshot_id: uuid.UUID,
    chunk: int,
    verify_keys: Mapping[str, nacl.signing.VerifyKey],
    data_keys: Mapping[str, bytes],
) -> tuple[SnapshotHeader, dict[str, int], list[WireChange]]:
    """Check and open chunk ``chunk`` of ``snapshot_id``, written by a device in ``verify_keys``."""
    header = read_snapshot_header(sealed)
    envelope = _envelope_decoder.decode(sealed)
    if header.account_id != account_id:
        raise ChangeSetRejectedError("snapshot chunk of another account")
    if header.snapshot_id != snapshot_id or header.chunk != chunk:
        raise ChangeSetRejectedError(f"expected chunk {chunk} of snapshot {snapshot_id}")
    verify_key = verify_keys.get(header.device_id)
    if verify_key is None:
        raise ChangeSetRejectedError(f"snapshot by an unknown device {header.device_id}")
    try:
        verify_key.verify(_signed_part(envelope.header, envelope.nonce, envelope.ciphertext), envelope.signature)
    except (nacl.exceptions.BadSignatureError, ValueError):
        raise ChangeSetRejectedError("bad signature") from None
    key = data_keys.get(header.key_id)
    if key is None:
        raise ChangeSetRejectedError(f"unknown key {header.key_id}")
    try:
        padded = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            envelope.ciphertext, envelope.header, envelope.nonce, key
        )
        end = len(padded.rstrip(b"\x00"))
        if end == 0 or padded[end - 1] != 0x80:
            raise ChangeSetRejectedError("bad padding")
        payload = zstandard.ZstdDecompressor().decompress(padded[: end - 1], max_output_size=MAX_PLAINTEXT)
        schema_version, covered, found = _payload_decoder.decode(payload)
    except (nacl.exceptions.CryptoError, ValueError):
        raise ChangeSetRejectedError("cannot decrypt: wrong key or altered") from None
    except (zstandard.ZstdError, msgspec.DecodeError):
        raise ChangeSetRejectedError("malformed payload") from None
    if schema_version != header.schema_version:
        raise ChangeSetRejectedError("schema version differs from the header's")
    return header, covered, found


def compacted_changes(connection: Connection, owner_id: uuid.UUID) -> Iterator[WireChange]:
    """The compacted log: per row, one change per ``(hlc, device)`` that still wins a column.

    One scan of the log in row order (the ``(owner, table, row)`` index), folding each
    row as it ends, so memory holds one row's history, not the whole log.
    """
    c = changes.c
    rows = connection.execute(
        select(c.table_name, c.row_id, c.hlc, c.device_id, c.op, cast(c.columns, Text))
        .where(c.owner_id == owner_id)
        .order_by(c.table_name, c.row_id)
        .execution_options(yield_per=20_000)
    )
    decode = _columns_decoder.decode
    key: tuple[str, str] | None = None
    entries: list[Logged] = []
    ops: dict[tuple[int, str], str] = {}
    for table_name, row_id, hlc, device, op, columns in rows:
        if (table_name, row_id) != key:
            if key is not None:
                yield from _winners(key, entries, ops)
            key, entries, ops = (table_name, row_id), [], {}
        entries.append((hlc, device, decode(columns)))
        ops[(hlc, device)] = op
    if key is not None:
        yield from _winners(key, entries, ops)


def _winners(key: tuple[str, str], entries: list[Logged], ops: dict[tuple[int, str], str]) -> Iterator[WireChange]:
    by_write: dict[tuple[int, str], dict[str, Any]] = {}
    for name, (value, hlc, device) in fold(entries).items():
        by_write.setdefault((hlc, device), {})[name] = value
    for hlc, device in sorted(by_write):
        yield WireChange(hlc, device, key[0], key[1], ops[(hlc, device)], by_write[(hlc, device)])


def _check_ready(connection: Connection, owner_id: uuid.UUID, device_id: str, pushed_hlc: int) -> None:
    """A snapshot must hold everything the relay has up to the cursor, and only that."""
    c = changes.c
    own_last = connection.scalar(select(func.max(c.hlc)).where(c.owner_id == owner_id, c.device_id == device_id))
    if own_last is not None and own_last > pushed_hlc:
        raise ConflictError("local changes are not sealed yet: push first")
    for table, what in ((sync_outbox, "sealed sets wait to be pushed"), (sync_held_sets, "sets are held")):
        if connection.scalar(select(func.count()).select_from(table).where(table.c.owner_id == owner_id)):
            raise ConflictError(f"{what}: sync first")
    # Held sets, or changes of a newer schema, are under the cursor but not in the log.
    held = select(func.count()).select_from(sync_held_changes).where(sync_held_changes.c.owner_id == owner_id)
    if connection.scalar(held):
        raise ConflictError("changes from a newer schema are held: upgrade first")


def take_snapshot(
    connection: Connection, owner_id: uuid.UUID, keys: DeviceKeys, schema_version: str, snapshot_id: uuid.UUID
) -> tuple[int, int, list[bytes]]:
    """``(covers_seq, changes, sealed chunks)`` of this device's state, in one read transaction."""
    link = read_link(connection, owner_id)
    _check_ready(connection, owner_id, keys.device_id, link.pushed_hlc)
    p = sync_peers.c
    peers = connection.execute(select(p.device_id, p.last_seq).where(p.owner_id == owner_id))
    covered = {str(d): int(s) for d, s in peers}
    covered[keys.device_id] = link.device_seq
    batches = list(split_changes(list(compacted_changes(connection, owner_id)))) or [[]]
    sealed = []
    for n, batch in enumerate(batches):
        header = SnapshotHeader(
            SNAPSHOT_KIND, _VERSION, keys.account_id, keys.device_id, keys.key_id, schema_version,
            snapshot_id, link.relay_cursor, n, n == len(batches) - 1,
        )  # fmt: skip
        sealed.append(seal_chunk(header, covered, batch, data_key=keys.data_key, signing_key=keys.signing_key))
    return link.relay_cursor, sum(len(batch) for batch in batches), sealed


def peer_verify_keys(connection: Connection, owner_id: uuid.UUID) -> dict[str, nacl.signing.VerifyKey]:
    """The verified public keys of this device's peers."""
    p = sync_peers.c
    rows = connection.execute(select(p.device_id, p.verify_key).where(p.owner_id == owner_id))
    return {str(d): nacl.signing.VerifyKey(base64.b64decode(k)) for d, k in rows}


@dataclass(frozen=True, slots=True)
class RestoreReport:
    """What restoring a snapshot did."""

    covers_seq: int
    chunks: int
    changes: int
    applied: int


def restore_snapshot(  # noqa: PLR0917 - what a restore is checked against
    connection: Connection,
    owner_id: uuid.UUID,
    keys: DeviceKeys,
    snapshot_id: uuid.UUID,
    covers_seq: int,
    bodies: Sequence[bytes],
    verify_keys: Mapping[str, nacl.signing.VerifyKey],
) -> RestoreReport:
    """Verify and apply every chunk, then move the cursor and peers past what it covers.

    One transaction: a chunk that fails any check applies nothing of the snapshot.
    """
    covered: dict[str, int] | None = None
    total = 0
    pages: list[list[WireChange]] = []
    for n, body in enumerate(bodies):
        header, chunk_covered, found = unseal_chunk(
            body, account_id=keys.account_id, snapshot_id=snapshot_id, chunk=n,
            verify_keys=verify_keys, data_keys=keys.data_keys,
        )  # fmt: skip
        if header.covers_seq != covers_seq or header.last != (n == len(bodies) - 1):
            raise ChangeSetRejectedError("chunk disagrees with the snapshot the relay announced")
        if covered is not None and chunk_covered != covered:
            raise ChangeSetRejectedError("chunks disagree on what the snapshot covers")
        covered = chunk_covered
        now, held = split_known(found)
        if held:
            hold_changes(connection, owner_id, held, header.schema_version)
        pages.append(now)
        total += len(found)
    if covered is None:
        raise ChangeSetRejectedError("a snapshot without chunks")
    applied = _apply_pages(connection, owner_id, pages)
    p = sync_peers.c
    for device_id, seq in covered.items():
        connection.execute(
            update(sync_peers)
            .where(p.owner_id == owner_id, p.device_id == device_id, p.last_seq < seq)
            .values(last_seq=seq)
        )
    s = sync_links.c
    connection.execute(
        update(sync_links).where(s.owner_id == owner_id, s.relay_cursor < covers_seq).values(relay_cursor=covers_seq)
    )
    rebuild_stale(connection, owner_id)
    return RestoreReport(covers_seq, len(bodies), total, applied)


def _apply_pages(connection: Connection, owner_id: uuid.UUID, pages: Sequence[Sequence[WireChange]]) -> int:
    """Merge every chunk's changes: in bulk into a device that holds nothing yet, else chunk by chunk."""
    if holds_nothing(connection, owner_id):
        applied = restore_fresh(connection, owner_id, [change for page in pages for change in page])
        if applied is not None:
            return applied
    return sum(apply_changes(connection, owner_id, page, rebuild=False).applied for page in pages)
