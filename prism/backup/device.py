"""What this device backs up, and with which key: read from its settings.

The key is ``PRISM_BACKUP_PASSPHRASE`` when set, else the device's sync keys (the account
data key), else there is none and the user is told how to get one. Only a SQLite device
database can be backed up; the lake only when it is a local folder.
"""

from __future__ import annotations

from pathlib import Path

from prism.backup.keys import KeySource
from prism.config import Settings
from prism.errors import ValidationError
from prism.sync.key_file import device_key_file
from prism.sync.keys import load_device_keys

__all__ = ["device_database_path", "device_key_source", "device_lake_root"]


def device_key_source(settings: Settings) -> KeySource:
    """The passphrase, else the account's data keys; :class:`ValidationError` when neither exists."""
    if settings.backup.passphrase:
        return settings.backup.passphrase
    keys = load_device_keys(device_key_file(settings))
    if keys is not None:
        return keys
    raise ValidationError(
        "no backup key: set PRISM_BACKUP_PASSPHRASE, or link this device to a sync account "
        "(`prism sync init` or `prism sync join`) to use the account key",
        field="PRISM_BACKUP_PASSPHRASE",
    )


def device_database_path(settings: Settings) -> Path:
    """The SQLite file to back up; :class:`ValidationError` for PostgreSQL or an in-memory database."""
    path = settings.database.sqlite_path
    if path is None:
        raise ValidationError(
            "backups are for the device's SQLite database; back up a PostgreSQL server with its own tools",
            field="PRISM_DATABASE_URL",
        )
    return path


def device_lake_root(settings: Settings) -> Path | None:
    """The lake's folder, or None when the lake lives on S3 (it is not copied into backups)."""
    lake = settings.lake_settings
    return None if lake.is_s3 else Path(lake.url).expanduser()
