"""``/api/v1/backup``: the account's backup blobs and the device's backup operations."""

from __future__ import annotations

from types import NoneType

from prism.api.routes.backup import BlobPage
from prism.api.routes.backup_operations import BackupStatusOut, PruneIn, RestoreIn, SnapshotList, VerifyIn
from prism.backup.create import SnapshotSummary
from prism.backup.prune import PruneSummary
from prism.backup.restore import RestoreSummary
from prism.backup.verify import VerifyReport
from prism.client._operations import Area, Call, M, operation, paged

__all__ = ["Backup"]


class Backup(Area[M]):
    """Backup blobs (raw bytes, by name) and snapshots (docs/backup-operations.md)."""

    @operation("GET", "/api/v1/backup/blobs")
    def blobs(self, *, prefix: str = "", cursor: str | None = None, limit: int = 1000) -> Call[BlobPage]:
        """One page of blobs whose names start with ``prefix``, by name."""
        return Call(BlobPage, query={"prefix": prefix, "cursor": cursor, "limit": limit})

    iter_blobs = paged(blobs)

    @operation("GET", "/api/v1/backup/blobs/{name}")
    def get_blob(self, name: str) -> Call[bytes]:
        """A blob's bytes."""
        return Call(bytes, path={"name": name})

    @operation("PUT", "/api/v1/backup/blobs/{name}")
    def put_blob(self, name: str, body: bytes) -> Call[None]:
        """Store a blob, replacing one of the same name."""
        return Call(NoneType, path={"name": name}, body=body, content_type="application/octet-stream")

    @operation("DELETE", "/api/v1/backup/blobs/{name}")
    def delete_blob(self, name: str) -> Call[None]:
        """Delete a blob (deleting an absent one is fine)."""
        return Call(NoneType, path={"name": name})

    @operation("GET", "/api/v1/backup/snapshots")
    def snapshots(self) -> Call[SnapshotList]:
        """The backup's snapshots."""
        return Call(SnapshotList)

    @operation("POST", "/api/v1/backup/snapshots")
    def backup_now(self) -> Call[SnapshotSummary]:
        """Take a backup now."""
        return Call(SnapshotSummary)

    # Verifying reads only: asking twice is harmless.
    @operation("POST", "/api/v1/backup/verify", idempotent=True)
    def verify(self, body: VerifyIn) -> Call[VerifyReport]:
        """Verify the backup repository."""
        return Call(VerifyReport, body=body)

    @operation("POST", "/api/v1/backup/restore")
    def restore(self, body: RestoreIn) -> Call[RestoreSummary]:
        """Restore a snapshot into a folder."""
        return Call(RestoreSummary, body=body)

    @operation("POST", "/api/v1/backup/prune")
    def prune(self, body: PruneIn) -> Call[PruneSummary]:
        """Forget old snapshots and free their space."""
        return Call(PruneSummary, body=body)

    @operation("GET", "/api/v1/backup/status")
    def status(self) -> Call[BackupStatusOut]:
        """Status of scheduled backups."""
        return Call(BackupStatusOut)
