"""A device's side of sync, in its own database (docs/sync-protocol.md §7).

Everything that must survive a crash lives here and moves in the same transaction as
the data it describes:

* **Push**: own changes are sealed into the *outbox* in HLC order, each set with the
  next per-device sequence, in one transaction with ``pushed_hlc``; sets leave the
  outbox only once the relay has acknowledged them. A crash before the acknowledgement
  sends the same set (same id) again, which the relay files once.
* **Pull**: a page of relay sets is verified, opened and applied in one transaction
  with the relay cursor and each peer's last sequence, so a crash either applied the
  page and moved the cursor, or did neither. Sets that arrive ahead of a gap, or from
  a device not yet known, are held until they can be applied in order.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nacl.signing
from sqlalchemy import Connection, Text, cast, delete, func, select, update

from prism.domain.hlc import hlc_plausible
from prism.errors import ChangeSetRejectedError, NotFoundError
from prism.storage.changes import new_device_id
from prism.storage.tables import changes, clock_states, sync_held_sets, sync_links, sync_outbox, sync_peers
from prism.sync.codec import ChangeSetHeader, WireChange, read_header, seal, split_changes, unseal
from prism.sync.held_changes import hold_changes, split_known
from prism.sync.keys import DeviceKeys
from prism.sync.merge import apply_changes

__all__ = [
    "Link",
    "PageReport",
    "apply_page",
    "create_link",
    "device_id_of",
    "drop_sent",
    "held_devices",
    "outbox",
    "outbox_size",
    "peer_ids",
    "read_link",
    "remember_peers",
    "seal_outbox",
]

log = logging.getLogger(__name__)
_columns_decoder = msgspec.json.Decoder(dict[str, Any])


@dataclass(frozen=True, slots=True)
class Link:
    """Where a device stands with its relay."""

    relay_url: str
    account_id: uuid.UUID
    pushed_hlc: int
    device_seq: int
    relay_cursor: int


def device_id_of(connection: Connection, owner_id: uuid.UUID) -> str:
    """This device's id for ``owner_id`` (its HLC tie-break), made on first use."""
    c = clock_states.c
    found = connection.scalar(select(c.device_id).where(c.owner_id == owner_id))
    if found is not None:
        return str(found)
    device_id = new_device_id()
    connection.execute(clock_states.insert().values(owner_id=owner_id, device_id=device_id, last_hlc=0))
    return device_id


def create_link(connection: Connection, owner_id: uuid.UUID, relay_url: str, account_id: uuid.UUID) -> None:
    """Link the device to a relay account; everything it logged so far will be pushed."""
    connection.execute(
        sync_links.insert().values(
            owner_id=owner_id, relay_url=relay_url, account_id=account_id, pushed_hlc=-1, device_seq=0, relay_cursor=0
        )
    )


def read_link(connection: Connection, owner_id: uuid.UUID) -> Link:
    """The device's link, or :class:`NotFoundError` when it has not joined a sync account."""
    c = sync_links.c
    row = connection.execute(
        select(c.relay_url, c.account_id, c.pushed_hlc, c.device_seq, c.relay_cursor).where(c.owner_id == owner_id)
    ).first()
    if row is None:
        raise NotFoundError("this device is not linked to a relay; run `prism sync init` or `prism sync join`")
    return Link(*row)


def seal_outbox(
    connection: Connection, owner_id: uuid.UUID, keys: DeviceKeys, schema_version: str, *, max_changes: int = 50_000
) -> int:
    """Seal up to ``max_changes`` own changes not yet sealed into the outbox; how many."""
    link = read_link(connection, owner_id)
    c = changes.c
    # The log's JSON is cast to text in SQL (PostgreSQL's driver would decode it itself)
    # and decoded by msgspec: several times faster than json.loads, and sealing a long
    # history is mostly this decoding.
    rows = connection.execute(
        select(c.hlc, c.device_id, c.table_name, c.row_id, c.op, cast(c.columns, Text))
        .where(c.owner_id == owner_id, c.hlc > link.pushed_hlc, c.device_id == keys.device_id)
        .order_by(c.hlc)
        .limit(max_changes)
    ).all()
    if not rows:
        return 0
    decode = _columns_decoder.decode
    pending = [
        WireChange(hlc, device, table, row, op, decode(columns)) for hlc, device, table, row, op, columns in rows
    ]
    seq = link.device_seq
    for batch in split_changes(pending):
        seq += 1
        set_id = uuid.uuid4()
        header = ChangeSetHeader(1, keys.account_id, keys.device_id, keys.key_id, schema_version, seq, set_id)
        body = seal(header, batch, data_key=keys.data_key, signing_key=keys.signing_key)
        connection.execute(
            sync_outbox.insert().values(owner_id=owner_id, device_seq=seq, set_id=set_id, changes=len(batch), body=body)
        )
    connection.execute(
        update(sync_links).where(sync_links.c.owner_id == owner_id).values(pushed_hlc=pending[-1].hlc, device_seq=seq)
    )
    return len(pending)


def outbox(connection: Connection, owner_id: uuid.UUID, limit: int = 64) -> list[tuple[int, int, bytes]]:
    """Sealed sets not yet acknowledged: ``(device_seq, changes, body)``, oldest first."""
    o = sync_outbox.c
    rows = connection.execute(
        select(o.device_seq, o.changes, o.body).where(o.owner_id == owner_id).order_by(o.device_seq).limit(limit)
    )
    return [(int(seq), int(count), bytes(body)) for seq, count, body in rows]


def drop_sent(connection: Connection, owner_id: uuid.UUID, device_seq: int) -> None:
    """Forget a set the relay acknowledged."""
    o = sync_outbox.c
    connection.execute(delete(sync_outbox).where(o.owner_id == owner_id, o.device_seq == device_seq))


def peer_ids(connection: Connection, owner_id: uuid.UUID) -> set[str]:
    """Devices whose change sets this device can verify."""
    return set(connection.scalars(select(sync_peers.c.device_id).where(sync_peers.c.owner_id == owner_id)))


def remember_peers(connection: Connection, owner_id: uuid.UUID, peers: Iterable[tuple[str, str]]) -> None:
    """Add verified ``(device_id, verify_key)`` pairs not known yet."""
    known = peer_ids(connection, owner_id)
    for device_id, verify_key in peers:
        if device_id not in known:
            connection.execute(
                sync_peers.insert().values(owner_id=owner_id, device_id=device_id, verify_key=verify_key, last_seq=0)
            )
            known.add(device_id)


@dataclass(slots=True)
class PageReport:
    """What one pulled page did."""

    sets: int = 0
    applied_sets: int = 0
    changes: int = 0
    conflicts: int = 0
    held: int = 0
    held_changes: int = 0  # for tables, columns or operations of a newer schema
    rejected: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Peer:
    verify_key: str
    last_seq: int
    changed: bool = False


def _clock_plausible(incoming: Sequence[WireChange]) -> bool:
    return not incoming or hlc_plausible(max(change.hlc for change in incoming), time.time_ns() // 1_000_000)


class _Page:
    """Sorting one page's sets into applied, held, duplicate and rejected."""

    def __init__(self, connection: Connection, owner_id: uuid.UUID, keys: DeviceKeys) -> None:
        self.connection, self.owner_id, self.keys = connection, owner_id, keys
        p = sync_peers.c
        rows = connection.execute(select(p.device_id, p.verify_key, p.last_seq).where(p.owner_id == owner_id))
        self.peers = {d: _Peer(k, int(s)) for d, k, s in rows}
        self._verify = {d: nacl.signing.VerifyKey(base64.b64decode(peer.verify_key)) for d, peer in self.peers.items()}
        h = sync_held_sets.c
        held = connection.execute(select(h.device_id, h.device_seq, h.body).where(h.owner_id == owner_id))
        self.held = {(d, int(s)): bytes(b) for d, s, b in held}
        self.incoming: list[WireChange] = []
        self.newer_schema: list[tuple[str, list[WireChange]]] = []  # (sender's version, changes to hold)
        self.report = PageReport()

    def offer(self, body: bytes) -> None:
        try:
            header = read_header(body)
        except ChangeSetRejectedError as error:
            self._reject(str(error))
            return
        if header.device_id == self.keys.device_id:
            return  # our own set, echoed back
        self.report.sets += 1
        peer = self.peers.get(header.device_id)
        if peer is None or header.device_seq > peer.last_seq + 1:
            self._hold(header, body)
        elif header.device_seq == peer.last_seq + 1:
            self._open(header.device_id, peer, body)
            self._drain(header.device_id, peer)

    def _hold(self, header: ChangeSetHeader, body: bytes) -> None:
        key = (header.device_id, header.device_seq)
        if key not in self.held:
            self.held[key] = body
            self.connection.execute(
                sync_held_sets.insert().values(
                    owner_id=self.owner_id, device_id=header.device_id, device_seq=header.device_seq, body=body
                )
            )
            self.report.held += 1

    def _open(self, device_id: str, peer: _Peer, body: bytes) -> None:
        try:
            header, incoming = unseal(
                body,
                account_id=self.keys.account_id,
                verify_key=self._verify[device_id],
                data_keys=self.keys.data_keys,
                last_seq=peer.last_seq,
            )
            if not _clock_plausible(incoming):
                raise ChangeSetRejectedError("a clock implausibly far in the future")
        except ChangeSetRejectedError as error:
            self._reject(f"{device_id}: {error}")
            return
        now, held = split_known(incoming)
        self.incoming.extend(now)
        if held:
            self.newer_schema.append((header.schema_version, held))
        peer.last_seq += 1
        peer.changed = True
        self.report.applied_sets += 1

    def _drain(self, device_id: str, peer: _Peer) -> None:
        while (device_id, peer.last_seq + 1) in self.held:
            key = (device_id, peer.last_seq + 1)
            body = self.held.pop(key)
            h = sync_held_sets.c
            self.connection.execute(
                delete(sync_held_sets).where(h.owner_id == self.owner_id, h.device_id == key[0], h.device_seq == key[1])
            )
            before = peer.last_seq
            self._open(device_id, peer, body)
            if peer.last_seq == before:
                break

    def drain_all(self) -> None:
        for device_id, peer in self.peers.items():
            self._drain(device_id, peer)

    def _reject(self, reason: str) -> None:
        log.warning("change set rejected: %s", reason)
        self.report.rejected.append(reason)

    def finish(self, *, rebuild: bool) -> None:
        for version, held in self.newer_schema:
            hold_changes(self.connection, self.owner_id, held, version)
            self.report.held_changes += len(held)
        if self.incoming:
            result = apply_changes(self.connection, self.owner_id, self.incoming, rebuild=rebuild)
            self.report.changes += result.applied
            self.report.conflicts += result.conflicts
        p = sync_peers.c
        for device_id, peer in self.peers.items():
            if peer.changed:
                self.connection.execute(
                    update(sync_peers)
                    .where(p.owner_id == self.owner_id, p.device_id == device_id)
                    .values(last_seq=peer.last_seq)
                )


def apply_page(
    connection: Connection,
    owner_id: uuid.UUID,
    keys: DeviceKeys,
    page: Sequence[tuple[int, bytes]],
    *,
    rebuild: bool = True,
) -> PageReport:
    """Verify, open and apply relay sets ``(seq, body)``, and move the cursor past them.

    ``rebuild=False``: leave the projection marked stale (see ``apply_changes``).
    """
    work = _Page(connection, owner_id, keys)
    work.drain_all()  # peers learnt since the last page may unblock held sets
    for _seq, body in page:
        work.offer(body)
    work.finish(rebuild=rebuild)
    if page:
        connection.execute(update(sync_links).where(sync_links.c.owner_id == owner_id).values(relay_cursor=page[-1][0]))
    return work.report


def held_devices(connection: Connection, owner_id: uuid.UUID) -> set[str]:
    """Devices with held sets (a device unknown when its sets arrived may be known now)."""
    h = sync_held_sets.c
    return set(connection.scalars(select(h.device_id).where(h.owner_id == owner_id).distinct()))


def outbox_size(connection: Connection, owner_id: uuid.UUID) -> int:
    """Changes sealed but not yet acknowledged by the relay."""
    o = sync_outbox.c
    return int(connection.scalar(select(func.coalesce(func.sum(o.changes), 0)).where(o.owner_id == owner_id)) or 0)
