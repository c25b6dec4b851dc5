"""Encrypted, deduplicated snapshots of the device database and the lake.

The repository format is documented in docs/backup-format.md. Everything here is
synchronous (backups run in a worker thread; call from async code with
``await asyncio.to_thread(...)``). ``key_source`` is a passphrase or the device's
account data keys (:class:`prism.sync.keys.DeviceKeys`).
"""

from prism.backup.create import Checkpoint, Progress, SnapshotSummary, create_backup
from prism.backup.keys import KeySource, RepositoryConfig, add_key, init_repository, rekey_repository
from prism.backup.locks import lock_repository
from prism.backup.prune import PruneSummary, keep_snapshots, prune_repository
from prism.backup.restore import RestoreSummary, restore_snapshot
from prism.backup.snapshots import SnapshotInfo, list_snapshots
from prism.backup.stores import BlobStore, FolderStore, S3Store, open_store
from prism.backup.verify import Damage, VerifyReport, verify_repository

__all__ = [
    "BlobStore",
    "Checkpoint",
    "Damage",
    "FolderStore",
    "KeySource",
    "Progress",
    "PruneSummary",
    "RepositoryConfig",
    "RestoreSummary",
    "S3Store",
    "SnapshotInfo",
    "SnapshotSummary",
    "VerifyReport",
    "add_key",
    "create_backup",
    "init_repository",
    "keep_snapshots",
    "list_snapshots",
    "lock_repository",
    "open_store",
    "prune_repository",
    "rekey_repository",
    "restore_snapshot",
    "verify_repository",
]
