"""Routes of the backup blob store: ``/backup/blobs``, an account's encrypted backup
repository kept by the server as opaque blobs (``PRISM_BACKUP_REPOSITORY=relay``).

The server never reads a blob: the repository is encrypted on the device
(docs/backup-format.md). Every route acts on the signed-in account's own blobs only.
The operation routes (take, list, verify, restore, prune a backup; its status) live
in :mod:`prism.api.routes.backup_operations`; :data:`BACKUP_ROUTES` holds both.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import msgspec
from litestar import Request, Response, delete, get, put
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath, FromQuery
from litestar.types import ControllerRouterHandler

from prism.api.pagination import check_limit, decode_cursor, encode_cursor
from prism.api.routes.backup_operations import (
    backup_now,
    backup_snapshots,
    backup_status,
    prune_backups,
    restore_backup,
    verify_backup,
)
from prism.api.state import owner_of, state_of
from prism.errors import ValidationError
from prism.storage.backup_blobs import BackupBlobs, check_blob_name

__all__ = [
    "BACKUP_ROUTES",
    "MAX_BLOB_BYTES",
    "BlobOut",
    "BlobPage",
    "delete_blob",
    "get_blob",
    "list_blobs",
    "put_blob",
]

#: Largest blob accepted: a backup pack is about 16 MiB; this leaves room for bigger packs.
MAX_BLOB_BYTES = 64 << 20
_MARKER = b"/backup/blobs/"


class BlobOut(msgspec.Struct, kw_only=True):
    """One stored blob."""

    name: str
    size: int


class BlobPage(msgspec.Struct, kw_only=True):
    """Blobs by name, one page at a time; ``next_cursor`` is null on the last page."""

    items: list[BlobOut]
    next_cursor: str | None


@dataclass
class _RawBody(Operation):
    """The PUT's body in the OpenAPI spec: raw bytes (the handler reads them itself)."""

    def __post_init__(self) -> None:
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        self.request_body = RequestBody(
            content={"application/octet-stream": OpenAPIMediaType(schema=binary)},
            required=True,
            description="The blob's bytes, stored as they are",
        )


def _blobs(request: Request[Any, Any, Any]) -> BackupBlobs:
    return BackupBlobs(state_of(request).lake.objects)


def _name(request: Request[Any, Any, Any], parsed: str) -> str:
    """The blob name exactly as the client sent it.

    The router folds ``//`` and a trailing ``/`` away, so ``data//x`` would silently
    become ``data/x``: check the raw path instead (its percent-escapes decoded).
    """
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and _MARKER in raw:
        sent = unquote(raw.split(_MARKER, 1)[1].decode("latin-1"))
    else:
        sent = parsed.removeprefix("/")  # a ``path`` parameter arrives with its leading slash
    return check_blob_name(sent, field="name")


@put(
    "/backup/blobs/{name:path}",
    tags=["backup"],
    summary="Store a backup blob (raw body)",
    description="The request body is stored as is, atomically, replacing a blob of the same name.",
    request_max_body_size=MAX_BLOB_BYTES,
    status_code=204,
    operation_class=_RawBody,
)
async def put_blob(request: Request[Any, Any, Any], name: FromPath[str]) -> None:
    """Store the raw request body as the account's blob ``name``."""
    blob = _name(request, name)
    body = await request.body()
    await asyncio.to_thread(_blobs(request).put, owner_of(request), blob, body)


@get(
    "/backup/blobs/{name:path}",
    tags=["backup"],
    summary="Read a backup blob (raw bytes)",
    media_type="application/octet-stream",
)
async def get_blob(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    """The account's blob ``name``, as stored; 404 when it has none."""
    blob = _name(request, name)
    body = await asyncio.to_thread(_blobs(request).get, owner_of(request), blob)
    return Response(body, media_type="application/octet-stream")


@delete("/backup/blobs/{name:path}", tags=["backup"], summary="Delete a backup blob", status_code=204)
async def delete_blob(request: Request[Any, Any, Any], name: FromPath[str]) -> None:
    """Remove the account's blob ``name``; deleting an absent blob is fine (retries are safe)."""
    blob = _name(request, name)
    await asyncio.to_thread(_blobs(request).delete, owner_of(request), blob)


@get("/backup/blobs", tags=["backup"], summary="List backup blobs")
async def list_blobs(
    request: Request[Any, Any, Any],
    *,
    prefix: FromQuery[str] = "",
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 1000,
) -> BlobPage:
    """The account's blobs whose names start with ``prefix``, by name, with their sizes."""
    size = check_limit(limit)
    position = decode_cursor(cursor)
    after: str | None = None
    if position is not None:
        if len(position) != 1 or not isinstance(position[0], str):
            raise ValidationError("is not a cursor this server issued", field="cursor")
        after = position[0]
    found = await asyncio.to_thread(_blobs(request).list, owner_of(request), prefix, after=after, limit=size + 1)
    items = [BlobOut(name=item.name, size=item.size) for item in found[:size]]
    more = len(found) > size
    return BlobPage(items=items, next_cursor=encode_cursor([items[-1].name]) if more else None)


BACKUP_ROUTES: list[ControllerRouterHandler] = [
    list_blobs,
    get_blob,
    put_blob,
    delete_blob,
    backup_now,
    backup_snapshots,
    verify_backup,
    restore_backup,
    prune_backups,
    backup_status,
]
