"""The whole export as one JSON document (what ``GET /api/v1/export`` serves).

The same rows as the folder's JSON files, under one object: ``{"format", "version",
"created_at", "account_id", "database_revision", "tables": {name: [row, ...]}}``.
It is written from one read transaction into a spooled temporary file (memory up to a
few megabytes, disk beyond), which the route then streams.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from typing import IO

import msgspec
from sqlalchemy import Connection

from prism.errors import NotFoundError
from prism.export.files import open_writer
from prism.export.layout import EXPORT_FORMAT, EXPORT_TABLES, EXPORT_VERSION, timestamp_text
from prism.export.write import count_rows, exported_rows
from prism.migrations import head_revision

__all__ = ["write_document"]

_SPOOL_BYTES = 8 << 20


def write_document(connection: Connection, owner_id: uuid.UUID) -> IO[bytes]:
    """The owner's export document in a temporary file, positioned at its start."""
    if not count_rows(connection, owner_id)["accounts"]:
        raise NotFoundError(f"no account {owner_id}")
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
    head = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "created_at": timestamp_text(dt.datetime.now(dt.UTC)),
        "account_id": str(owner_id),
        "database_revision": head_revision(),
    }
    out.write(msgspec.json.encode(head)[:-1] + b',"tables":{')
    for at, spec in enumerate(EXPORT_TABLES):
        out.write((b"," if at else b"") + msgspec.json.encode(spec.name) + b":")
        writer = open_writer(spec, "json", out)
        for page in exported_rows(connection, owner_id, spec):
            writer.write(page)
        writer.close()
    out.write(b"}}\n")
    out.seek(0)
    return out
