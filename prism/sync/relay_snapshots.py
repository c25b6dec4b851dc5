"""The blind relay's snapshots: sealed chunks filed per account, and compaction.

The relay reads only a chunk's unencrypted header (account, device, snapshot, chunk
number) to file it. Completing a snapshot makes it the account's latest and compacts:
the sets it covers and older snapshots are deleted, under the account's lock, so a
concurrent push or completion sees either the old state or the new one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import NamedTuple

from sqlalchemy import Connection, and_, delete, func, or_, select, update

from prism.errors import ChangeSetRejectedError, ConflictError, NotFoundError, ValidationError
from prism.storage.engine import lock_owner
from prism.storage.tables import relay_sets, relay_snapshot_chunks, relay_snapshots
from prism.sync.relay import head_seq
from prism.sync.snapshot import read_snapshot_header

__all__ = [
    "MAX_CHUNKS",
    "RelayStorage",
    "SnapshotInfo",
    "complete_snapshot",
    "compacted_away",
    "latest_snapshot",
    "put_chunk",
    "read_chunk",
    "relay_storage",
]

#: More chunks than any account needs (a chunk holds up to 1 MiB of changes).
MAX_CHUNKS = 100_000


class SnapshotInfo(NamedTuple):
    """A complete snapshot: relay sets up to ``covers_seq`` are inside its ``chunks``."""

    snapshot_id: uuid.UUID
    device_id: str
    covers_seq: int
    chunks: int


class RelayStorage(NamedTuple):
    """What an account keeps on the relay."""

    sets: int
    set_bytes: int
    snapshot_chunks: int
    snapshot_bytes: int


def _check_chunk_number(chunk: int) -> None:
    if not 0 <= chunk < MAX_CHUNKS:
        raise ValidationError(f"a chunk number is 0 to {MAX_CHUNKS - 1}", field="chunk")


def put_chunk(  # noqa: PLR0917 - the route's every part
    connection: Connection, account_id: uuid.UUID, device_id: str, snapshot_id: uuid.UUID, chunk: int, body: bytes
) -> None:
    """File (or file again: idempotent) one sealed chunk of an unfinished snapshot."""
    _check_chunk_number(chunk)
    header = read_snapshot_header(body)
    if (header.account_id, header.device_id, header.snapshot_id, header.chunk) != (
        account_id,
        device_id,
        snapshot_id,
        chunk,
    ):
        raise ChangeSetRejectedError("the header names another account, device, snapshot or chunk")
    lock_owner(connection, account_id)
    s = relay_snapshots.c
    row = connection.execute(
        select(s.device_id, s.completed_at).where(s.account_id == account_id, s.snapshot_id == snapshot_id)
    ).first()
    if row is None:
        connection.execute(
            relay_snapshots.insert().values(
                account_id=account_id, snapshot_id=snapshot_id, device_id=device_id, created_at=dt.datetime.now(dt.UTC)
            )
        )
    elif row.device_id != device_id:
        raise ConflictError("another device is uploading this snapshot")
    elif row.completed_at is not None:
        raise ConflictError("this snapshot is complete; it cannot change")
    k = relay_snapshot_chunks.c
    where = and_(k.account_id == account_id, k.snapshot_id == snapshot_id, k.chunk == chunk)
    connection.execute(delete(relay_snapshot_chunks).where(where))
    connection.execute(
        relay_snapshot_chunks.insert().values(account_id=account_id, snapshot_id=snapshot_id, chunk=chunk, body=body)
    )


def latest_snapshot(connection: Connection, account_id: uuid.UUID) -> SnapshotInfo | None:
    """The account's newest complete snapshot, if any."""
    s = relay_snapshots.c
    row = connection.execute(
        select(s.snapshot_id, s.device_id, s.covers_seq, s.chunks)
        .where(s.account_id == account_id, s.completed_at.is_not(None))
        .order_by(s.covers_seq.desc(), s.completed_at.desc())
        .limit(1)
    ).first()
    return None if row is None else SnapshotInfo(row[0], str(row[1]), int(row[2]), int(row[3]))


def complete_snapshot(  # noqa: PLR0917 - the route's every part
    connection: Connection, account_id: uuid.UUID, device_id: str, snapshot_id: uuid.UUID, covers_seq: int, chunks: int
) -> int:
    """Mark a fully uploaded snapshot complete and compact; how many sets were dropped.

    Sets below ``covers_seq`` go. The set at ``covers_seq`` stays: the relay numbers a
    push after the latest stored set, and numbering must never restart.
    """
    if not 0 < chunks <= MAX_CHUNKS:
        raise ValidationError(f"a snapshot has 1 to {MAX_CHUNKS} chunks", field="chunks")
    lock_owner(connection, account_id)
    s = relay_snapshots.c
    mine = and_(s.account_id == account_id, s.snapshot_id == snapshot_id)
    row = connection.execute(select(s.device_id, s.completed_at, s.covers_seq, s.chunks).where(mine)).first()
    if row is None or row.device_id != device_id:
        raise NotFoundError("no such snapshot upload")
    if row.completed_at is not None:
        if (row.covers_seq, row.chunks) == (covers_seq, chunks):
            return 0  # a retried completion
        raise ConflictError("this snapshot is already complete with other figures")
    if not 0 <= covers_seq <= head_seq(connection, account_id):
        raise ValidationError("must be a sequence the relay has filed", field="covers_seq")
    latest = latest_snapshot(connection, account_id)
    if latest is not None and covers_seq < latest.covers_seq:
        raise ConflictError(f"a newer snapshot covers up to {latest.covers_seq}")
    k = relay_snapshot_chunks.c
    count, top = connection.execute(
        select(func.count(), func.max(k.chunk)).where(k.account_id == account_id, k.snapshot_id == snapshot_id)
    ).one()
    if count != chunks or top != chunks - 1:
        raise ValidationError(f"{count} chunk(s) uploaded, {chunks} announced", field="chunks")
    now = dt.datetime.now(dt.UTC)
    done = {"covers_seq": covers_seq, "chunks": chunks, "completed_at": now}
    connection.execute(update(relay_snapshots).where(mine).values(**done))
    # Older snapshots go, complete or abandoned; another device's upload begun since stays.
    older = select(s.snapshot_id).where(
        s.account_id == account_id,
        s.snapshot_id != snapshot_id,
        or_(s.completed_at.is_not(None), s.created_at <= now - dt.timedelta(hours=1)),
    )
    stale = list(connection.scalars(older))
    if stale:
        connection.execute(delete(relay_snapshot_chunks).where(k.account_id == account_id, k.snapshot_id.in_(stale)))
        connection.execute(delete(relay_snapshots).where(s.account_id == account_id, s.snapshot_id.in_(stale)))
    r = relay_sets.c
    return int(connection.execute(delete(relay_sets).where(r.account_id == account_id, r.seq < covers_seq)).rowcount)


def read_chunk(connection: Connection, account_id: uuid.UUID, snapshot_id: uuid.UUID, chunk: int) -> bytes:
    """One chunk of a complete snapshot."""
    _check_chunk_number(chunk)
    s, k = relay_snapshots.c, relay_snapshot_chunks.c
    body = connection.scalar(
        select(k.body)
        .join(relay_snapshots, and_(s.account_id == k.account_id, s.snapshot_id == k.snapshot_id))
        .where(k.account_id == account_id, k.snapshot_id == snapshot_id, k.chunk == chunk, s.completed_at.is_not(None))
    )
    if body is None:
        raise NotFoundError("no such chunk of a complete snapshot")
    return bytes(body)


def compacted_away(connection: Connection, account_id: uuid.UUID, after: int) -> int | None:
    """The covering snapshot's sequence when the sets right after ``after`` were dropped."""
    latest = latest_snapshot(connection, account_id)
    # Sets below covers_seq are gone; the one at covers_seq is kept (complete_snapshot).
    if latest is not None and after + 1 < latest.covers_seq:
        return latest.covers_seq
    return None


def relay_storage(connection: Connection, account_id: uuid.UUID) -> RelayStorage:
    """How many sets and snapshot chunks the account keeps, and their bytes."""
    r, k = relay_sets.c, relay_snapshot_chunks.c
    sets, set_bytes = connection.execute(
        select(func.count(), func.coalesce(func.sum(func.length(r.body)), 0)).where(r.account_id == account_id)
    ).one()
    chunks, chunk_bytes = connection.execute(
        select(func.count(), func.coalesce(func.sum(func.length(k.body)), 0)).where(k.account_id == account_id)
    ).one()
    return RelayStorage(int(sets), int(set_bytes), int(chunks), int(chunk_bytes))
