"""The lake writer's lease: one writer at a time, across processes and replicas.

On a device it is an exclusive ``flock`` on a lock file in the data directory
(released by the kernel if the process dies); in the cloud, a PostgreSQL advisory
lock on a held connection (released by the server if the replica dies). Either way
a crashed writer never leaves the lake locked.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from prism.errors import ConflictError
from prism.storage.engine import Database

__all__ = ["LAKE_LOCK_KEY", "folder_lease", "writer_lease"]

#: The advisory lock key of the lake writer (a fixed 63-bit number derived from a name).
LAKE_LOCK_KEY = int.from_bytes(hashlib.blake2b(b"prism lake writer", digest_size=8).digest(), "big") >> 1


@asynccontextmanager
async def folder_lease(path: Path, *, wait_seconds: float = 30.0) -> AsyncIterator[None]:
    """Hold an exclusive lock on the file at ``path`` while open."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if asyncio.get_running_loop().time() >= deadline:
                    raise ConflictError("another process is writing to the lake; try again shortly") from None
                await asyncio.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@asynccontextmanager
async def writer_lease(database: Database, lock_path: Path, *, wait_seconds: float = 30.0) -> AsyncIterator[None]:
    """The lake writer's lease for a store: an advisory lock on PostgreSQL, else a lock file."""
    if database.dialect == "postgresql":
        async with database.advisory_lock(LAKE_LOCK_KEY, wait_seconds=wait_seconds):
            yield
    else:
        async with folder_lease(lock_path, wait_seconds=wait_seconds):
            yield
