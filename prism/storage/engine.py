"""Opening the transactional store, and running units of work on it.

Storage code is plain synchronous SQLAlchemy (functions taking a ``Connection``);
:class:`Database` runs one such function as one transaction and awaits it:

* **SQLite** (the device): the standard ``sqlite3`` driver on dedicated threads.
  One writer thread holds the one writer connection, so writes of this process
  queue in order; a small pool of reader threads serves reads. A statement costs
  tens of microseconds instead of the ~450 µs a round trip through an asyncio
  driver costs (measured in ``docs/benchmarks.md``), which is what keeps a ledger
  write, with its projection, under 5 ms. The file runs in WAL mode (readers never
  block the writer) with foreign keys on, a busy timeout, and ``BEGIN IMMEDIATE``
  for every write, so two processes queue on the lock instead of deadlocking.
  An encrypted device file is opened through SQLCipher's build of the same driver
  (``sqlcipher3``), every connection keyed first (:mod:`prism.storage.sqlite_keys`).
* **PostgreSQL** (the cloud): asyncpg, with the function run through
  ``AsyncConnection.run_sync`` (SQLAlchemy's greenlet bridge), so the same code
  serves both.

Driver errors are translated into :mod:`prism.errors` here, at the boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import Pool, QueuePool

from prism.config import DatabaseSettings, normalize_database_url
from prism.errors import ConflictError, StorageError
from prism.storage.sqlite_keys import SQLiteKey, apply_key, connect_sqlite, database_key, sqlite_module

__all__ = ["Database", "Work", "lock_owner", "open_database"]

P = ParamSpec("P")
T = TypeVar("T")
#: A unit of work: a function run inside one transaction on a ``Connection``.
Work = Callable[Concatenate[Connection, P], T]


@dataclass(slots=True)
class _SQLite:
    writer: Engine
    reader: Engine
    write_thread: ThreadPoolExecutor
    read_threads: ThreadPoolExecutor
    path: str
    key: SQLiteKey | None = None
    watcher: sqlite3.Connection | None = None


@dataclass(slots=True)
class Database:
    """One transactional store; run work with :meth:`write` and :meth:`read`."""

    settings: DatabaseSettings
    _sqlite: _SQLite | None = None
    _postgres: AsyncEngine | None = None
    _closed: bool = field(default=False)

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return "sqlite" if self._sqlite is not None else "postgresql"

    async def write(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``work(connection, ...)`` as one write transaction.

        It commits when ``work`` returns and rolls back if it raises: nothing of a
        failed unit of work is ever visible.
        """
        return await self._run(work, args, kwargs, write=True)

    async def read(self, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``work(connection, ...)`` in a read-only transaction: one consistent snapshot."""
        return await self._run(work, args, kwargs, write=False)

    async def _run(self, work: Work[P, T], args: Any, kwargs: Any, *, write: bool) -> T:
        try:
            if self._sqlite is not None:
                engine = self._sqlite.writer if write else self._sqlite.reader
                threads = self._sqlite.write_thread if write else self._sqlite.read_threads
                return await asyncio.get_running_loop().run_in_executor(
                    threads, lambda: _in_transaction(engine, work, *args, **kwargs)
                )
            assert self._postgres is not None
            # Reads see one snapshot across all their queries.
            isolation = "READ COMMITTED" if write else "REPEATABLE READ"
            async with self._postgres.connect() as connection:
                session = await connection.execution_options(isolation_level=isolation)
                async with session.begin():
                    return await session.run_sync(work, *args, **kwargs)
        except exc.IntegrityError as error:
            # The driver's message names tables and constraints: not for the client's eyes.
            raise ConflictError("the write conflicts with stored data (a row with the same key exists)") from error
        except exc.DBAPIError as error:
            raise StorageError(f"the database failed: {error.orig}") from error

    async def checkpoint(self) -> None:
        """On SQLite, fold the write-ahead log into the file and empty it (after a deletion,
        so no earlier page survives in the log). Nothing to do on PostgreSQL."""
        if self._sqlite is None:
            return
        writer = self._sqlite.writer

        def fold() -> None:
            # On the driver connection itself: a checkpoint cannot run inside the
            # transaction SQLAlchemy would begin.
            with writer.connect() as connection:
                raw = connection.connection.dbapi_connection
                assert raw is not None
                raw.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

        await asyncio.get_running_loop().run_in_executor(self._sqlite.write_thread, fold)

    def change_stamp(self) -> int | None:
        """A number that changes whenever any process commits to the store, or None.

        On SQLite this is ``PRAGMA data_version`` of a connection that never writes:
        it moves with every commit of every other connection, in any process. It is
        read on the event loop itself because it costs microseconds (no I/O beyond
        the WAL index), far less than a hop to a reader thread. PostgreSQL gives no
        such cheap global stamp, so callers must not cache there (None).
        """
        if self._sqlite is None:
            return None
        if self._sqlite.watcher is None:
            watcher = connect_sqlite(self._sqlite.path, self._sqlite.key, check_same_thread=False, isolation_level=None)
            watcher.execute("PRAGMA query_only=ON")
            watcher.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._sqlite.watcher = watcher
        stamp: int = self._sqlite.watcher.execute("PRAGMA data_version").fetchone()[0]
        return stamp

    @asynccontextmanager
    async def listen(self, channel: str, on_message: Callable[[str], None]) -> AsyncIterator[bool]:
        """Call ``on_message(payload)`` for every ``NOTIFY`` on ``channel`` while open.

        PostgreSQL only: one connection is held for the purpose (yields True). SQLite
        has no notifications between processes (yields False); a device or a
        single-process relay wakes its waiters in-process instead.
        """
        if self._postgres is None:
            yield False
            return
        async with self._postgres.connect() as connection:
            listener = (await connection.get_raw_connection()).driver_connection
            assert listener is not None  # an open asyncpg connection

            def deliver(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
                on_message(payload)

            await listener.add_listener(channel, deliver)
            try:
                yield True
            finally:
                with contextlib.suppress(Exception):  # the connection may already be gone
                    await listener.remove_listener(channel, deliver)

    @asynccontextmanager
    async def advisory_lock(self, key: int, *, wait_seconds: float) -> AsyncIterator[None]:
        """Hold PostgreSQL's session advisory lock ``key`` while open, waiting up to
        ``wait_seconds`` seconds for it (:class:`ConflictError` after that).

        The lock lives on one held connection, so a replica that dies releases it with
        its connection. PostgreSQL only: a device uses a lock file instead.
        """
        if self._postgres is None:
            raise StorageError("advisory locks need PostgreSQL")
        key_text = text("SELECT pg_try_advisory_lock(:key)")
        async with self._postgres.connect() as connection:
            deadline = asyncio.get_running_loop().time() + wait_seconds
            while not await connection.scalar(key_text, {"key": key}):
                await connection.rollback()
                if asyncio.get_running_loop().time() >= deadline:
                    raise ConflictError("another writer holds the lock; try again shortly")
                await asyncio.sleep(0.05)
            await connection.commit()
            try:
                yield
            finally:
                with contextlib.suppress(Exception):  # a lost connection has released it already
                    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    await connection.commit()

    @property
    def sqlite_key(self) -> SQLiteKey | None:
        """The at-rest key of an encrypted SQLite store (None: plaintext, or PostgreSQL)."""
        return None if self._sqlite is None else self._sqlite.key

    @property
    def closed(self) -> bool:
        """Whether :meth:`dispose` has run."""
        return self._closed

    def connections_in_use(self) -> int:
        """Connections checked out of this store's pools now (for ``/metrics``)."""
        if self._sqlite is not None:
            return _in_use(self._sqlite.writer.pool) + _in_use(self._sqlite.reader.pool)
        assert self._postgres is not None
        return _in_use(self._postgres.sync_engine.pool)

    async def dispose(self) -> None:
        """Close every connection and thread."""
        if self._closed:
            return
        self._closed = True
        if self._sqlite is not None:
            if self._sqlite.watcher is not None:
                self._sqlite.watcher.close()
            self._sqlite.write_thread.shutdown(wait=True)
            self._sqlite.read_threads.shutdown(wait=True)
            self._sqlite.writer.dispose()
            self._sqlite.reader.dispose()
        if self._postgres is not None:
            await self._postgres.dispose()


def _in_transaction(engine: Engine, work: Work[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    with engine.begin() as connection:
        return work(connection, *args, **kwargs)


def _sqlite_engine(settings: DatabaseSettings, key: SQLiteKey | None, *, writer: bool) -> Engine:
    engine = create_engine(
        normalize_database_url(settings.url),
        module=sqlite_module(key),
        echo=settings.echo,
        pool_size=1 if writer else settings.pool_size,
        max_overflow=0,
        pool_timeout=max(30.0, settings.busy_timeout_ms / 1000),
        # Reader connections move between the reader threads (never two at once).
        connect_args={"timeout": settings.busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: Any, _record: Any) -> None:
        # Let the "begin" event below emit BEGIN, not the driver.
        dbapi_connection.isolation_level = None
        # The key comes first: no other statement can read an encrypted file.
        apply_key(dbapi_connection, key, settings.sqlite_path)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
        cursor.execute(f"PRAGMA synchronous={settings.synchronous}")
        # Deleted content is overwritten, not left in free pages: what is deleted is gone.
        cursor.execute("PRAGMA secure_delete=ON")
        if writer:
            # A bulk write (an import of a million rows) inserts ids at random places of
            # the key indexes: with SQLite's default 2 MB page cache every insert became
            # a page miss once the indexes outgrew it. The cache only grows when used.
            cursor.execute(f"PRAGMA cache_size=-{_WRITER_CACHE_KIB}")
        else:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


#: The writer connection's page cache ceiling, in KiB.
_WRITER_CACHE_KIB = 64 * 1024


def open_database(settings: DatabaseSettings) -> Database:
    """The store at ``settings.url``; nothing connects until first use.

    An encrypted SQLite file's key is worked out here, once (see
    :func:`~prism.storage.sqlite_keys.database_key`).
    """
    if settings.is_sqlite:
        path = settings.sqlite_path
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        key = database_key(settings)
        sqlite = _SQLite(
            writer=_sqlite_engine(settings, key, writer=True),
            reader=_sqlite_engine(settings, key, writer=False),
            write_thread=ThreadPoolExecutor(1, thread_name_prefix="prism-sqlite-writer"),
            read_threads=ThreadPoolExecutor(settings.pool_size, thread_name_prefix="prism-sqlite-reader"),
            path=str(path) if path is not None else ":memory:",
            key=key,
        )
        return Database(settings, _sqlite=sqlite)
    engine = create_async_engine(
        normalize_database_url(settings.url),
        echo=settings.echo,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_size,
        pool_pre_ping=True,
    )
    return Database(settings, _postgres=engine)


def _in_use(pool: Pool) -> int:
    return int(pool.checkedout()) if isinstance(pool, QueuePool) else 0


def _owner_lock_key(owner_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(owner_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def lock_owner(connection: Connection, owner_id: uuid.UUID) -> None:
    """Serialise ledger writes of one owner until the transaction ends.

    SQLite's ``BEGIN IMMEDIATE`` already serialises all writers; PostgreSQL takes a
    transaction-scoped advisory lock so two replicas never interleave one owner's
    read-modify-write of the positions projection.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _owner_lock_key(owner_id)})
