"""Encrypted, deduplicated snapshots of the device database and the lake.

The repository format is documented in docs/backup-format.md. Everything here is
synchronous (backups run in a worker thread; call from async code with
``await asyncio.to_thread(...)``). ``key_source`` is a passphrase or the device's
account data keys (:class:`prism.sync.keys.DeviceKeys`).
"""

from prism.backup.create import Checkpoint, Progress, SnapshotSummary, create_backup
from prism.backup.keys import KeySource, RepositoryConfig, add_key, init_repository, rekey_repository
from prism.backup.restore import RestoreSummary, restore_snapshot
from prism.backup.snapshots import SnapshotInfo, list_snapshots
from prism.backup.stores import BlobStore, FolderStore, S3Store, open_store

__all__ = [
    "BlobStore",
    "Checkpoint",
    "FolderStore",
    "KeySource",
    "Progress",
    "RepositoryConfig",
    "RestoreSummary",
    "S3Store",
    "SnapshotInfo",
    "SnapshotSummary",
    "add_key",
    "create_backup",
    "init_repository",
    "list_snapshots",
    "open_store",
    "rekey_repository",
    "restore_snapshot",
]
