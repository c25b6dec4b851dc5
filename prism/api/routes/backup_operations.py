"""Routes of backup operations for the desktop app: take a backup now, list, verify,
restore and prune snapshots, and the status of scheduled backups (``/backup/...``).

They act on the device's own repository (``PRISM_BACKUP_REPOSITORY``), so a hosted
server refuses them (403): it has no device database to back up and cannot open an
account's repository. Every operation runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import JSONBody

from prism.api.state import ApiState, state_of
from prism.backup.create import SnapshotSummary
from prism.backup.prune import PruneSummary, prune_repository
from prism.backup.restore import RestoreSummary, restore_snapshot
from prism.backup.schedule import backup_target, next_run, read_status, running, take_backup
from prism.backup.snapshots import SnapshotInfo, list_snapshots
from prism.backup.verify import VerifyReport, verify_repository
from prism.config import Settings
from prism.errors import PermissionDeniedError, ValidationError

__all__ = [
    "BackupStatusOut",
    "PruneIn",
    "RestoreIn",
    "SnapshotList",
    "VerifyIn",
    "backup_now",
    "backup_snapshots",
    "backup_status",
    "prune_backups",
    "restore_backup",
    "verify_backup",
]


class SnapshotList(msgspec.Struct, kw_only=True):
    """The repository's snapshots, oldest first."""

    items: list[SnapshotInfo]


class VerifyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """How much to read back: every pack (100) or a random percentage of them."""

    sample_percent: int = 100


class RestoreIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which snapshot (an id or a unique prefix of one) and where to write its files."""

    snapshot_id: str
    target_dir: str


class PruneIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Which snapshots to keep: the newest of each of the last N days, ISO weeks and months."""

    keep_daily: int = 7
    keep_weekly: int = 4
    keep_monthly: int = 12


class BackupStatusOut(msgspec.Struct, kw_only=True):
    """When the last good backup was, what it held, the last failure, and the next run."""

    repository: str | None
    interval_seconds: int
    running: bool
    next_run_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_snapshot_id: str | None
    last_size_bytes: int | None
    last_uploaded_bytes: int | None
    last_attempt_at: dt.datetime | None
    last_error: str | None
    last_error_at: dt.datetime | None


def _device(request: Request[Any, Any, Any]) -> ApiState:
    state = state_of(request)
    if state.settings.server.mode == "hosted":
        # A hosted server holds no device database, and cannot open an account's repository.
        raise PermissionDeniedError("backups are taken and restored by a device, not by a hosted server")
    return state


@post("/backup/snapshots", tags=["backup"], summary="Take a backup now", status_code=201)
async def backup_now(request: Request[Any, Any, Any]) -> SnapshotSummary:
    """Back the database and the lake up to the configured repository (created on first use)."""
    settings = _device(request).settings
    summary = await asyncio.to_thread(take_backup, settings)
    assert summary is not None  # only a run that may skip returns None
    return summary


@get("/backup/snapshots", tags=["backup"], summary="List backup snapshots")
async def backup_snapshots(request: Request[Any, Any, Any]) -> SnapshotList:
    """Every snapshot in the repository (none before the first backup)."""
    settings = _device(request).settings

    def listed() -> list[SnapshotInfo]:
        target = backup_target(settings)
        if not target.store.list("config"):
            return []
        return list_snapshots(target.store, target.key_source)

    return SnapshotList(items=await asyncio.to_thread(listed))


@post("/backup/verify", tags=["backup"], summary="Verify the backup repository", status_code=200)
async def verify_backup(request: Request[Any, Any, Any], data: JSONBody[VerifyIn]) -> VerifyReport:
    """Read packs back (all, or ``sample_percent`` of them); every damage found is named."""
    settings = _device(request).settings
    if not 0 <= data.sample_percent <= 100:
        raise ValidationError("must be from 0 to 100", field="sample_percent")

    def verified() -> VerifyReport:
        target = backup_target(settings)
        return verify_repository(target.store, target.key_source, data.sample_percent)

    return await asyncio.to_thread(verified)


def _overlap(one: Path, other: Path) -> bool:
    return one == other or one in other.parents or other in one.parents


def _restore_folder(raw: str, settings: Settings) -> Path:
    """``raw`` as a folder a restore may write into: its ``prism.db`` and ``lake/`` must not
    be, hold or lie inside the live database and lake."""
    if not raw.strip() or "\x00" in raw or not raw.startswith("/"):
        raise ValidationError("must be an absolute path", field="target_dir")
    try:
        target = Path(raw).resolve()
        database = settings.database.sqlite_path
        lake = settings.lake_settings
        lake_root = None if lake.is_s3 else Path(lake.url).expanduser().resolve()
        if database is not None and target == database.resolve().parent:
            raise ValidationError("must not be the live database's folder", field="target_dir")
    except (OSError, RuntimeError):  # a symlink loop, a name too long
        raise ValidationError("is not a usable folder", field="target_dir") from None
    if lake_root is not None and (_overlap(target / "lake", lake_root) or _overlap(target, lake_root)):
        raise ValidationError("must not overlap the live lake", field="target_dir")
    return target


@post("/backup/restore", tags=["backup"], summary="Restore a snapshot into a folder", status_code=201)
async def restore_backup(request: Request[Any, Any, Any], data: JSONBody[RestoreIn]) -> RestoreSummary:
    """Write a snapshot's database and lake files into ``target_dir``, never over the live ones.

    Existing files are never overwritten; each file is checked against its hash before it
    gets its name. Swapping the restored database in is the user's step, with Prism stopped.
    """
    settings = _device(request).settings
    if not data.snapshot_id.strip():
        raise ValidationError("must name a snapshot", field="snapshot_id")
    target_dir = _restore_folder(data.target_dir, settings)

    def restored() -> RestoreSummary:
        target = backup_target(settings)
        return restore_snapshot(target.store, target.key_source, data.snapshot_id.strip(), target_dir)

    return await asyncio.to_thread(restored)


@post("/backup/prune", tags=["backup"], summary="Forget old snapshots and free their space", status_code=200)
async def prune_backups(request: Request[Any, Any, Any], data: JSONBody[PruneIn]) -> PruneSummary:
    """Keep the snapshots the policy names (the newest always) and delete what only others needed."""
    settings = _device(request).settings
    for field in ("keep_daily", "keep_weekly", "keep_monthly"):
        if not 0 <= getattr(data, field) <= 10_000:
            raise ValidationError("must be from 0 to 10000", field=field)

    def pruned() -> PruneSummary:
        target = backup_target(settings)
        return prune_repository(target.store, target.key_source, data.keep_daily, data.keep_weekly, data.keep_monthly)

    return await asyncio.to_thread(pruned)


@get("/backup/status", tags=["backup"], summary="Status of scheduled backups")
async def backup_status(request: Request[Any, Any, Any]) -> Response[BackupStatusOut]:
    """When the last good backup was, its snapshot and size, the next run, and the last error."""
    settings = _device(request).settings
    status = await asyncio.to_thread(read_status, settings)
    body = BackupStatusOut(
        repository=settings.backup.repository,
        interval_seconds=settings.backup.interval_seconds,
        running=running(settings),
        next_run_at=next_run(settings, status),
        last_success_at=status.last_success_at,
        last_snapshot_id=status.last_snapshot_id,
        last_size_bytes=status.last_size_bytes,
        last_uploaded_bytes=status.last_uploaded_bytes,
        last_attempt_at=status.last_attempt_at,
        last_error=status.last_error,
        last_error_at=status.last_error_at,
    )
    return Response(body, headers={"Cache-Control": "no-store"})
