"""Schema migrations: Alembic revisions that run unchanged on SQLite and PostgreSQL.

Use :func:`upgrade` / :func:`downgrade` on a :class:`~prism.storage.engine.Database`,
or :func:`upgrade_device` for a device's SQLite file: it copies the database aside
with SQLite's online backup API first and puts the copy back if the upgrade fails,
so a failed upgrade never leaves a person with a half-migrated file.

Derived data (the positions projection) is not computed inside revisions, which must
not depend on today's domain code: a revision that needs it rebuilt records a
maintenance task, and :func:`upgrade` runs pending tasks after the revisions.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import shutil
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from prism.config import DatabaseSettings
from prism.errors import MigrationError
from prism.storage.engine import Database, open_database
from prism.storage.projection import run_maintenance
from prism.storage.sqlite_conversion import encrypt_if_asked
from prism.storage.sqlite_keys import SQLiteKey, connect_sqlite, database_key

__all__ = [
    "alembic_config",
    "open_upgraded",
    "current_revision",
    "downgrade",
    "head_revision",
    "upgrade",
    "upgrade_device",
]

_HERE = Path(__file__).parent
# Alembic narrates every step at INFO; Prism reports upgrades itself.
logging.getLogger("alembic").setLevel(logging.WARNING)


def alembic_config(version_locations: Sequence[str | Path] = ()) -> Config:
    """Alembic configuration for Prism's revisions (plus any extra version folders)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    locations = [str(_HERE / "versions"), *map(str, version_locations)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    return config


def head_revision(config: Config | None = None) -> str:
    """The newest revision this code knows."""
    head = ScriptDirectory.from_config(config or alembic_config()).get_current_head()
    assert head is not None
    return head


def _revision_of(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    """The revision the database is at, or None for an empty database."""
    return await database.read(_revision_of)


#: PostgreSQL advisory lock key of schema changes ("prism-migrate" as 8 bytes).
MIGRATION_LOCK = int.from_bytes(b"prismmig", "big", signed=True)


async def _run(database: Database, config: Config, action: str, revision: str) -> None:
    def _migrate(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time; the later ones then find
            # the schema at the revision already (Alembic reads it after the lock).
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)

    try:
        await database.write(_migrate)
    except MigrationError:
        raise
    except Exception as error:
        raise MigrationError(f"{action} to {revision} failed: {error}") from error


async def upgrade(database: Database, revision: str = "head", *, config: Config | None = None) -> None:
    """Upgrade to ``revision`` in one transaction, then run pending maintenance."""
    await _run(database, config or alembic_config(), "upgrade", revision)
    await database.write(run_maintenance)


async def downgrade(database: Database, revision: str, *, config: Config | None = None) -> None:
    """Downgrade to ``revision`` (``"base"`` drops everything)."""
    await _run(database, config or alembic_config(), "downgrade", revision)


def _stored_revision(path: Path, key: SQLiteKey | None) -> str | None:
    with closing(connect_sqlite(path, key)) as connection:
        found = connection.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='alembic_version'"
        ).fetchone()
        if not found:
            return None
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        return None if row is None else str(row[0])


def _copy(source: Path, target: Path, key: SQLiteKey | None) -> None:
    """A consistent copy of a live SQLite file (the online backup API), encrypted with the
    same key when the file is."""
    with (
        closing(connect_sqlite(source, key)) as live,
        closing(connect_sqlite(target, key)) as copy,
    ):
        live.backup(copy)


def _restore(backup: Path, path: Path) -> None:
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    staging = path.with_name(path.name + ".restoring")
    shutil.copyfile(backup, staging)
    os.replace(staging, path)


async def upgrade_device(
    settings: DatabaseSettings, revision: str = "head", *, config: Config | None = None
) -> Path | None:
    """Upgrade a device's SQLite file safely; returns the pre-upgrade copy, if one was made.

    Nothing is copied for a new database or one already at ``revision``. If the
    upgrade fails, the copy is put back and :class:`~prism.errors.MigrationError`
    raised; the copy is kept either way until the person deletes it.
    """
    config = config or alembic_config()
    path = settings.sqlite_path
    backup: Path | None = None
    if path is not None and path.exists():
        target = head_revision(config) if revision == "head" else revision
        key = database_key(settings)
        current = _stored_revision(path, key)
        if current != target:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
            backup = path.with_name(f"{path.name}.before-upgrade-{current or 'empty'}-{stamp}")
            await asyncio.to_thread(_copy, path, backup, key)
    database = open_database(settings)
    try:
        await upgrade(database, revision, config=config)
    except Exception as error:
        await database.dispose()
        if backup is not None and path is not None:
            await asyncio.to_thread(_restore, backup, path)
        raise (error if isinstance(error, MigrationError) else MigrationError(str(error))) from error
    await database.dispose()
    return backup


async def open_upgraded(settings: DatabaseSettings) -> Database:
    """The store at ``settings``, upgraded to this code's schema (a device file safely).

    A plaintext device file asked to be encrypted (``PRISM_DATABASE_ENCRYPT``) is
    converted first, crash-safely (:mod:`prism.storage.sqlite_conversion`).
    """
    if settings.is_sqlite:
        await asyncio.to_thread(encrypt_if_asked, settings)
        await upgrade_device(settings)
        return open_database(settings)
    database = open_database(settings)
    try:
        await upgrade(database)
    except Exception:
        await database.dispose()
        raise
    return database
