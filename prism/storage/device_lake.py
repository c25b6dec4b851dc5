"""The lake as this process should open it: keyed for per-owner files when the device
database is encrypted at rest.

The lake's owner key is derived from the database key (keyed BLAKE2b), so it needs no
storage of its own and opens nothing without the database's passphrase or keyring
entry. Changing the database key re-seals the per-owner files
(:func:`reseal_device_lake`); those files are derived data, so any that no longer open
are dropped and computed again (:mod:`prism.analytics.snapshots`).
"""

from __future__ import annotations

import hashlib

from prism.config import Settings
from prism.errors import UnreadableDataError
from prism.storage.lake import Lake, drop_owner_datasets, open_lake, reseal_owner_datasets
from prism.storage.sqlite_keys import SQLiteKey, database_key

__all__ = ["lake_owner_key", "open_device_lake", "reseal_device_lake"]


def lake_owner_key(key: SQLiteKey | None) -> bytes | None:
    """The lake's owner key under database key ``key`` (None: a plaintext lake)."""
    if key is None:
        return None
    return hashlib.blake2b(b"lake owner key", key=key.secret, person=b"prism-lake-root", digest_size=32).digest()


def open_device_lake(settings: Settings) -> Lake:
    """The lake of ``settings``, keyed when the device database is encrypted."""
    return open_lake(settings.lake_settings, owner_key=lake_owner_key(database_key(settings.database)))


def reseal_device_lake(settings: Settings, old: SQLiteKey | None, new: SQLiteKey | None) -> int:
    """Move the lake's per-owner files from database key ``old``'s form to ``new``'s;
    the number of files rewritten. The caller holds the lake's writer lease.

    Files sealed under a key neither ``old`` nor ``new`` (a conversion cut short
    between the database and the lake) are derived data: they are deleted, and the
    snapshots job computes them again from the ledger.
    """
    try:
        return reseal_owner_datasets(settings.lake_settings, old_key=lake_owner_key(old), new_key=lake_owner_key(new))
    except UnreadableDataError:
        lake = open_lake(settings.lake_settings)
        try:
            return drop_owner_datasets(lake)
        finally:
            lake.close()
