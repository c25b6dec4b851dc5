"""Opening the transactional store: one writer and a reader pool on SQLite, a pool on PostgreSQL.

SQLite is configured the way a multi-process device needs it: WAL (readers never
block the writer), foreign keys on, a busy timeout, ``BEGIN IMMEDIATE`` for every
write transaction (so two writers queue on the lock instead of deadlocking on an
upgrade from read to write), and exactly one writer connection per process.
Driver errors are translated into :mod:`prism.errors` here, at the boundary.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from prism.config import DatabaseSettings
from prism.errors import ConflictError, PrismError, StorageError

__all__ = ["Database", "lock_owner", "open_database"]


@dataclass(slots=True)
class Database:
    """The engines of one store; use :meth:`write` and :meth:`read`, never the engines."""

    settings: DatabaseSettings
    writer: AsyncEngine
    reader: AsyncEngine

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.writer.dialect.name

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """One write transaction: committed on success, rolled back on any error."""
        try:
            async with self.writer.begin() as connection:
                yield connection
        except PrismError:
            raise
        except exc.IntegrityError as error:
            raise ConflictError(f"the write conflicts with stored data: {error.orig}") from error
        except exc.DBAPIError as error:
            raise StorageError(f"the database failed: {error.orig}") from error

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction: one consistent snapshot for all its queries."""
        try:
            async with self.reader.begin() as connection:
                yield connection
        except PrismError:
            raise
        except exc.DBAPIError as error:
            raise StorageError(f"the database failed: {error.orig}") from error

    async def dispose(self) -> None:
        """Close every connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _sqlite_engine(settings: DatabaseSettings, *, writer: bool) -> AsyncEngine:
    engine = create_async_engine(
        settings.url,
        echo=settings.echo,
        pool_size=1 if writer else settings.pool_size,
        max_overflow=0,
        pool_timeout=max(30.0, settings.busy_timeout_ms / 1000),
        connect_args={"timeout": settings.busy_timeout_ms / 1000},
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={settings.synchronous}")
        if not writer:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


def open_database(settings: DatabaseSettings) -> Database:
    """Engines for ``settings.url``; nothing connects until first use."""
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        return Database(
            settings,
            _sqlite_engine(settings, writer=True),
            _sqlite_engine(settings, writer=False),
        )
    engine = create_async_engine(
        settings.url,
        echo=settings.echo,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
    )
    return Database(settings, engine, engine)


def _owner_lock_key(owner_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(owner_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_owner(connection: AsyncConnection, owner_id: uuid.UUID) -> None:
    """Serialise ledger writes of one owner until the transaction ends.

    SQLite's ``BEGIN IMMEDIATE`` already serialises all writers; PostgreSQL takes a
    transaction-scoped advisory lock so two replicas never interleave one owner's
    read-modify-write of the positions projection.
    """
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"),
            {"key": _owner_lock_key(owner_id)},
        )
