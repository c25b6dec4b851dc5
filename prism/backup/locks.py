"""Repository locks: shared for backups, exclusive for prune, with stale-lock detection.

A lock is a small plaintext blob in ``locks/`` naming host, pid and time. A lock is stale
when its time is older than ``STALE_AFTER`` (holders refresh it while they work) or when
it names this host and a process that is no longer running. Taking a lock lists, writes,
then lists again: two racers may both back off, they never both proceed.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from types import TracebackType

import msgspec

from prism.backup.processes import process_running
from prism.backup.stores import BlobStore
from prism.errors import NotFoundError, RepositoryLockedError

__all__ = [
    "REFRESH_EVERY",
    "STALE_AFTER",
    "LockInfo",
    "RepositoryLock",
    "is_stale",
    "lock_repository",
]

STALE_AFTER = timedelta(minutes=30)
REFRESH_EVERY = timedelta(minutes=5)


class LockInfo(msgspec.Struct, frozen=True, kw_only=True):
    """Who holds a lock, since when, and how."""

    host: str
    pid: int
    time: datetime
    exclusive: bool


def is_stale(info: LockInfo, now: datetime, host: str) -> bool:
    """True when ``info`` no longer protects anything."""
    if now - info.time > STALE_AFTER:
        return True
    return info.host == host and not process_running(info.pid)


class RepositoryLock:
    """A held lock; a context manager that releases it."""

    def __init__(self, store: BlobStore, name: str, info: LockInfo) -> None:
        self.store = store
        self.name = name
        self.info = info

    def refresh(self, *, force: bool = False) -> None:
        """Rewrite the lock's time when it is due, so others never take it for stale."""
        now = datetime.now(UTC)
        if force or now - self.info.time >= REFRESH_EVERY:
            self.info = msgspec.structs.replace(self.info, time=now)
            self.store.put(self.name, msgspec.json.encode(self.info))

    def release(self) -> None:
        """Delete the lock."""
        self.store.delete(self.name)

    def __enter__(self) -> RepositoryLock:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()


def _live_locks(store: BlobStore, host: str, *, mine: str | None = None) -> list[LockInfo]:
    now = datetime.now(UTC)
    live = []
    for name in store.list("locks/"):
        if name == mine:
            continue
        try:
            info = msgspec.json.decode(store.get(name), type=LockInfo)
        except NotFoundError:
            continue  # released meanwhile
        except msgspec.DecodeError:
            store.delete(name)  # a torn lock protects nothing (puts are atomic: it is garbage)
            continue
        if is_stale(info, now, host):
            store.delete(name)
            continue
        live.append(info)
    return live


def _conflicts(live: list[LockInfo], exclusive: bool) -> list[LockInfo]:
    return live if exclusive else [info for info in live if info.exclusive]


def _refuse(holders: list[LockInfo]) -> RepositoryLockedError:
    holder = holders[0]
    how = "exclusively (prune)" if holder.exclusive else "for a backup"
    return RepositoryLockedError(
        f"the backup repository is locked {how} by pid {holder.pid} on {holder.host} "
        f"since {holder.time.isoformat(timespec='seconds')}"
    )


def lock_repository(store: BlobStore, *, exclusive: bool) -> RepositoryLock:
    """Take a shared (backup) or exclusive (prune) lock; :class:`RepositoryLockedError` if one conflicts."""
    host = socket.gethostname()
    holders = _conflicts(_live_locks(store, host), exclusive)
    if holders:
        raise _refuse(holders)
    info = LockInfo(host=host, pid=os.getpid(), time=datetime.now(UTC), exclusive=exclusive)
    name = f"locks/{secrets.token_hex(8)}"
    store.put(name, msgspec.json.encode(info))
    holders = _conflicts(_live_locks(store, host, mine=name), exclusive)
    if holders:
        store.delete(name)
        raise _refuse(holders)
    return RepositoryLock(store, name, info)
