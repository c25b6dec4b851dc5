"""Backups on a schedule: ``prism serve`` takes one every ``PRISM_BACKUP_INTERVAL`` seconds,
but only when the database or the lake changed since the last good one.

What happened is kept in ``<data dir>/backup-state.json`` (written atomically), so
``GET /api/v1/backup/status`` still knows the last good backup after a restart. A
failed run is recorded (time and message) and retried at the next tick; it never
stops the server.

"Changed" is a fingerprint of the files themselves: size and modification time of the
database, its write-ahead log and every lake file. Every write, whether through the
ledger, a sync, a market import or a projection rebuild, touches one of them, so no
change is missed; a change that touches nothing (a checkpoint) costs at most one cheap,
deduplicated backup.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import NamedTuple

import msgspec

from prism.backup.create import SnapshotSummary, create_backup
from prism.backup.device import device_database_path, device_key_source, device_lake_root
from prism.backup.keys import KeySource, init_repository
from prism.backup.relay_store import RelayStore, relay_target
from prism.backup.stores import BlobStore, open_store
from prism.config import Settings
from prism.errors import ConflictError, NotFoundError, PrismError
from prism.storage.files import write_atomically
from prism.storage.sqlite_keys import database_key

__all__ = [
    "STATE_NAME",
    "BackupStatus",
    "BackupTarget",
    "backup_target",
    "close_store",
    "database_fingerprint",
    "live_paths",
    "next_run",
    "read_status",
    "running",
    "run_schedule",
    "scheduled_backups",
    "take_backup",
]

STATE_NAME = "backup-state.json"
_MIN_PAUSE = 0.5
logger = logging.getLogger("prism.backup")
# One backup at a time per data folder in this process (the scheduler and the API share it).
_RUNNING: dict[Path, threading.Lock] = {}
_GUARD = threading.Lock()


class BackupStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The device's backups: the last good one, the last failure, and the next run."""

    last_success_at: dt.datetime | None = None
    last_snapshot_id: str | None = None
    #: Bytes the last good snapshot holds (database and lake files, before dedup).
    last_size_bytes: int | None = None
    #: Sealed pack bytes the last good backup uploaded.
    last_uploaded_bytes: int | None = None
    last_attempt_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    #: Fingerprint of the files at the start of the last good backup.
    fingerprint: str | None = None


class BackupTarget(NamedTuple):
    """An opened repository and the key that opens it."""

    store: BlobStore
    key_source: KeySource


def _state_path(settings: Settings) -> Path:
    return settings.data_dir / STATE_NAME


def read_status(settings: Settings) -> BackupStatus:
    """The recorded status (empty before the first run; a damaged file counts as empty)."""
    try:
        return msgspec.json.decode(_state_path(settings).read_bytes(), type=BackupStatus)
    except FileNotFoundError:
        return BackupStatus()
    except msgspec.DecodeError:
        logger.warning("ignoring a damaged %s", _state_path(settings))
        return BackupStatus()


def _write_status(settings: Settings, status: BackupStatus) -> None:
    path = _state_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, msgspec.json.encode(status), prefix=".tmp-backup-state-")


def live_paths(settings: Settings) -> tuple[Path, Path | None]:
    """The device database file and the lake folder (None for a lake on S3)."""
    return device_database_path(settings), device_lake_root(settings)


def database_fingerprint(database: Path, lake_root: Path | None) -> str:
    """A digest of size and modification time of the database, its WAL and the lake's files."""
    digest = hashlib.blake2b(digest_size=16)
    paths = [database, database.with_name(database.name + "-wal")]
    if lake_root is not None and lake_root.is_dir():
        paths += sorted(path for path in lake_root.rglob("*") if path.is_file())
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if stat.st_size == 0 and path.name.endswith("-wal"):
            continue  # an empty log holds nothing (a read-only reader, such as a backup, leaves one)
        digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def backup_target(settings: Settings) -> BackupTarget:
    """The configured repository and key: the passphrase, else the account's data keys."""
    relay = relay_target(settings) if (settings.backup.repository or "").strip() == "relay" else None
    store = open_store(settings.backup, relay=relay)
    key_source = device_key_source(settings)
    return BackupTarget(store, key_source)


def close_store(store: BlobStore) -> None:
    """Release what a store holds (a relay store's HTTP connections)."""
    if isinstance(store, RelayStore):
        store.close()


def _ensure_repository(settings: Settings, target: BackupTarget) -> None:
    try:
        target.store.size("config")
    except NotFoundError:
        init_repository(
            target.store, target.key_source, kdf_ops=settings.sync.kdf_ops, kdf_mem_kib=settings.sync.kdf_mem_kib
        )


def _lock_of(settings: Settings) -> threading.Lock:
    with _GUARD:
        return _RUNNING.setdefault(settings.data_dir.resolve(), threading.Lock())


def running(settings: Settings) -> bool:
    """True while a backup of this device runs in this process."""
    return _lock_of(settings).locked()


def take_backup(
    settings: Settings, *, only_if_changed: bool = False, target: BackupTarget | None = None
) -> SnapshotSummary | None:
    """Back the device up now (creating the repository on first use) and record the outcome.

    With ``only_if_changed``, nothing is done (None) when the files are as they were at
    the last good backup. Synchronous: call it in a worker thread. Raises what the backup
    raised, after recording it; :class:`ConflictError` while another backup runs here.
    """
    lock = _lock_of(settings)
    if not lock.acquire(blocking=False):
        raise ConflictError("a backup of this device is already running")
    try:
        status = read_status(settings)
        now = dt.datetime.now(dt.UTC)
        try:
            summary, fingerprint = _run(settings, status, only_if_changed, target)
        except Exception as error:
            # Every failure is recorded, so the status says why and the schedule waits an interval.
            status.last_attempt_at = now
            status.last_error, status.last_error_at = _describe(error), now
            _write_status(settings, status)
            raise
        if summary is None:
            return None
        status.last_attempt_at = now
        status.last_success_at = summary.time
        status.last_snapshot_id = summary.snapshot_id
        status.last_size_bytes = summary.total_bytes
        status.last_uploaded_bytes = summary.uploaded_bytes
        status.fingerprint = fingerprint
        status.last_error = status.last_error_at = None
        _write_status(settings, status)
        return summary
    finally:
        lock.release()


def _run(
    settings: Settings, status: BackupStatus, only_if_changed: bool, target: BackupTarget | None
) -> tuple[SnapshotSummary | None, str]:
    database, lake_root = live_paths(settings)
    # Taken before the backup reads anything: a write during the backup triggers the next one.
    fingerprint = database_fingerprint(database, lake_root)
    if only_if_changed and status.fingerprint == fingerprint:
        return None, fingerprint
    opened = target or backup_target(settings)
    try:
        _ensure_repository(settings, opened)
        key = database_key(settings.database)
        summary = create_backup(opened.store, opened.key_source, database, lake_root, database_key=key)
        return summary, fingerprint
    finally:
        if target is None:
            close_store(opened.store)


def _describe(error: Exception) -> str:
    # Prism's errors say what to do; anything else is named by its type.
    return str(error) if isinstance(error, PrismError) else f"{type(error).__name__}: {error}"


def next_run(settings: Settings, status: BackupStatus) -> dt.datetime | None:
    """When the scheduler next looks for changes (None when scheduling is off)."""
    interval = settings.backup.interval_seconds
    if interval <= 0 or not settings.backup.repository:
        return None
    if status.last_attempt_at is None:
        return dt.datetime.now(dt.UTC)
    return status.last_attempt_at + dt.timedelta(seconds=interval)


async def run_schedule(
    settings: Settings, stop: asyncio.Event, *, on_run: Callable[[SnapshotSummary | None], None] | None = None
) -> None:
    """Until ``stop``: at each due time, back up if anything changed; failures are recorded."""
    while not stop.is_set():
        due = next_run(settings, read_status(settings))
        if due is None:
            return
        wait = (due - dt.datetime.now(dt.UTC)).total_seconds()
        if wait > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
            continue
        summary: SnapshotSummary | None = None
        try:
            summary = await asyncio.to_thread(take_backup, settings, only_if_changed=True)
            if summary is None:
                _touch_attempt(settings)
        except ConflictError:
            await _pause(stop, 1.0)  # a backup asked for through the API is running
            continue
        except Exception:
            logger.exception("the scheduled backup failed; it is retried at the next interval")
        if on_run is not None:
            on_run(summary)
        await _pause(stop, _MIN_PAUSE)  # never a busy loop, whatever the clock or the state file say


def _touch_attempt(settings: Settings) -> None:
    # Nothing changed: the next look is one interval from now.
    status = read_status(settings)
    status.last_attempt_at = dt.datetime.now(dt.UTC)
    _write_status(settings, status)


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


@contextlib.asynccontextmanager
async def scheduled_backups(settings: Settings) -> AsyncIterator[None]:
    """Run the schedule beside the server while the block runs (a device with a repository only)."""
    if settings.server.mode == "hosted" or settings.backup.interval_seconds <= 0 or not settings.backup.repository:
        yield
        return
    stop = asyncio.Event()
    task = asyncio.create_task(run_schedule(settings, stop), name="prism-backup-schedule")
    try:
        yield
    finally:
        stop.set()
        # The loop ends at once unless a backup is running; that one finishes in its worker
        # thread (the process waits for it) rather than leave a lock in the repository.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, timeout=2)
