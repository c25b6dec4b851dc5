"""The whole export as one JSON document (what ``GET /api/v1/export`` serves).

The same rows as the folder's JSON files, under one object: ``{"format", "version",
"created_at", "account_id", "database_revision", "tables": {name: [row, ...]}}``.
It is written from one read transaction into a sealed spool (memory up to a few
megabytes, disk beyond, encrypted with a key only the process holds:
:mod:`prism.export.spool`), which the route then streams.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import IO, cast

import msgspec
from sqlalchemy import Connection

from prism.errors import NotFoundError
from prism.export.files import open_writer
from prism.export.layout import EXPORT_FORMAT, EXPORT_TABLES, EXPORT_VERSION, timestamp_text
from prism.export.spool import SealedSpool
from prism.export.write import count_rows, exported_rows
from prism.migrations import head_revision

__all__ = ["write_document"]


def write_document(connection: Connection, owner_id: uuid.UUID) -> SealedSpool:
    """The owner's export document in a sealed spool, rewound for reading."""
    if not count_rows(connection, owner_id)["accounts"]:
        raise NotFoundError(f"no account {owner_id}")
    spool = SealedSpool()
    out = cast(IO[bytes], spool)
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
    spool.rewind()
    return spool
