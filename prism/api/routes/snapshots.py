"""``/relay/v1/snapshots``: sealed snapshots, compaction, and the signal to bootstrap
(docs/sync-protocol.md §10). Every route is signed, like a push.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Request, Response, get, post, put
from litestar.params import FromPath, JSONBody

from prism.api.routes.relay import signed_device, signed_request
from prism.api.state import state_of
from prism.sync.relay_snapshots import (
    complete_snapshot,
    latest_snapshot,
    put_chunk,
    read_chunk,
    relay_storage,
)

__all__ = ["complete", "get_chunk", "latest", "storage", "upload_chunk"]

#: A chunk holds at most 1 MiB of plaintext, so at most 2 MiB padded, plus its envelope.
MAX_CHUNK_BYTES = (2 << 20) + (16 << 10)


class Completion(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A finished upload: relay sets up to ``covers_seq`` are inside its ``chunks`` chunks."""

    covers_seq: int
    chunks: int


class Compacted(msgspec.Struct, kw_only=True):
    """The snapshot is the account's latest; sets below ``covers_seq`` were dropped."""

    snapshot_id: uuid.UUID
    covers_seq: int
    dropped_sets: int


class Snapshot(msgspec.Struct, kw_only=True):
    """A complete snapshot."""

    snapshot_id: uuid.UUID
    device_id: str
    covers_seq: int
    chunks: int


class Latest(msgspec.Struct, kw_only=True):
    """The account's newest complete snapshot, or null before the first."""

    snapshot: Snapshot | None


class Storage(msgspec.Struct, kw_only=True):
    """What the account keeps on the relay."""

    sets: int
    set_bytes: int
    snapshot_chunks: int
    snapshot_bytes: int


@put(
    "/snapshots/{snapshot_id:uuid}/chunks/{chunk:int}",
    tags=["relay"],
    summary="Store one sealed snapshot chunk (signed request)",
    security=[],
    guards=[signed_device],
    request_max_body_size=MAX_CHUNK_BYTES,
    status_code=204,
)
async def upload_chunk(request: Request[Any, Any, Any], snapshot_id: FromPath[uuid.UUID], chunk: FromPath[int]) -> None:
    """File the request body, a sealed chunk; uploading it again replaces it."""
    account, device = signed_request(request)
    await state_of(request).database.write(put_chunk, account, device, snapshot_id, chunk, await request.body())


@post(
    "/snapshots/{snapshot_id:uuid}/complete",
    tags=["relay"],
    summary="Complete a snapshot and compact (signed request)",
    security=[],
    guards=[signed_device],
)
async def complete(
    request: Request[Any, Any, Any], snapshot_id: FromPath[uuid.UUID], data: JSONBody[Completion]
) -> Compacted:
    """Make the uploaded snapshot the latest; drop the sets below it and older snapshots."""
    account, device = signed_request(request)
    dropped = await state_of(request).database.write(
        complete_snapshot, account, device, snapshot_id, data.covers_seq, data.chunks
    )
    return Compacted(snapshot_id=snapshot_id, covers_seq=data.covers_seq, dropped_sets=dropped)


@get("/snapshots/latest", tags=["relay"], summary="Latest snapshot (signed)", security=[], guards=[signed_device])
async def latest(request: Request[Any, Any, Any]) -> Latest:
    """The newest complete snapshot, or null."""
    account, _ = signed_request(request)
    found = await state_of(request).database.read(latest_snapshot, account)
    if found is None:
        return Latest(snapshot=None)
    return Latest(snapshot=Snapshot(**found._asdict()))


@get(
    "/snapshots/{snapshot_id:uuid}/chunks/{chunk:int}",
    tags=["relay"],
    summary="One chunk of a complete snapshot (signed request)",
    security=[],
    guards=[signed_device],
    media_type="application/octet-stream",
)
async def get_chunk(
    request: Request[Any, Any, Any], snapshot_id: FromPath[uuid.UUID], chunk: FromPath[int]
) -> Response[bytes]:
    """The sealed chunk, raw bytes."""
    account, _ = signed_request(request)
    body = await state_of(request).database.read(read_chunk, account, snapshot_id, chunk)
    return Response(body, media_type="application/octet-stream")


@get("/storage", tags=["relay"], summary="Stored sets and snapshots (signed)", security=[], guards=[signed_device])
async def storage(request: Request[Any, Any, Any]) -> Storage:
    """Counts and bytes of stored sets and snapshot chunks."""
    account, _ = signed_request(request)
    found = await state_of(request).database.read(relay_storage, account)
    return Storage(**found._asdict())
