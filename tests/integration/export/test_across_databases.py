"""An export does not depend on the database: SQLite's export, restored into PostgreSQL
and exported again, gives the same files in every format."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from pathlib import Path

from prism.config import DatabaseSettings
from prism.export.layout import FILE_FORMATS
from prism.export.write import export_account
from prism.imports.export_dir import restore_export
from prism.storage.engine import open_database
from tests.conftest import _admin, _database_url
from tests.integration.export.conftest import populate


def _tables(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "manifest.json"}


def _manifest(folder: Path) -> dict[str, object]:
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["created_at"]
    return manifest  # type: ignore[no-any-return]


def test_sqlite_export_restored_into_postgresql_exports_the_same_files(
    sqlite_template: Path, postgres_server_url: str, postgres_template: str, tmp_path: Path
) -> None:
    path = tmp_path / "device.db"
    shutil.copyfile(sqlite_template, path)
    names = [f"prism_across_{uuid.uuid4().hex[:10]}" for _ in FILE_FORMATS]
    for name in names:
        _admin(postgres_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')

    async def run() -> None:
        device = open_database(DatabaseSettings(url=f"sqlite:///{path}"))
        owner = await device.write(populate)
        for file_format, name in zip(FILE_FORMATS, names, strict=True):
            first = await export_account(device, owner, tmp_path / f"sqlite-{file_format}", file_format)
            cloud = open_database(DatabaseSettings(url=_database_url(postgres_server_url, name), pool_size=1))
            try:
                await restore_export(cloud, first.folder)
                second = await export_account(cloud, owner, tmp_path / f"pg-{file_format}", file_format)
            finally:
                await cloud.dispose()
            assert _tables(first.folder) == _tables(second.folder), file_format
            assert _manifest(first.folder) == _manifest(second.folder)
        await device.dispose()

    try:
        asyncio.run(run())
    finally:
        for name in names:
            _admin(postgres_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
