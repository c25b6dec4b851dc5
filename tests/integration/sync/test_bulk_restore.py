"""A fresh device restores a snapshot in bulk (prism.sync.bulk_restore), on SQLite and
PostgreSQL (the snapshot is taken on a SQLite device), and ends up exactly where the
general merge, chunk by chunk, leaves a device: the same rows (every column, stamps
included), the same change log, the same pending rows, the same holdings and cash. A
device that already holds something takes the general path.
"""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec
import nacl.signing
import nacl.utils
import pytest
from sqlalchemy import Connection, func, select

import prism.sync.snapshot as snapshot_module
from prism.config import DatabaseSettings
from prism.errors import ConflictError, InsufficientHoldingsError
from prism.storage.annotations import delete_row, new_tag, save_tag, save_tagging
from prism.storage.catalog import create_account, list_portfolios
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_cash, read_holdings
from prism.storage.tables import SYNCED_TABLES, changes, sync_conflicts, sync_pending, tags
from prism.sync.codec import WireChange, split_changes
from prism.sync.engine import schema_version
from prism.sync.keys import DeviceKeys
from prism.sync.merge import apply_changes
from prism.sync.snapshot import (
    SNAPSHOT_KIND,
    SnapshotHeader,
    compacted_changes,
    restore_snapshot,
    seal_chunk,
)
from tests.conftest import _admin, _database_url
from tests.integration.sync.conftest import DeviceFactory
from tests.integration.sync.test_convergence import _act

OTHER_DEVICE = "ffeeddccbbaa9988"


@pytest.fixture
def fresh_urls(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """Two new, migrated databases of the current backend."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        paths = [tmp_path / f"device-{n}.db" for n in range(2)]
        for path in paths:
            shutil.copyfile(template, path)
        yield [f"sqlite:///{path}" for path in paths]
        return
    server: str = request.getfixturevalue("postgres_server_url")
    template_name: str = request.getfixturevalue("postgres_template")
    names = [f"prism_bulk_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    _admin(server, *(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"' for name in names))
    yield [_database_url(server, name) for name in names]
    _admin(server, *(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' for name in names))


@pytest.fixture
async def fresh(fresh_urls: list[str]) -> AsyncIterator[list[Database]]:
    """Two fresh devices of the current backend, open."""
    databases = [open_database(DatabaseSettings(url=url, pool_size=2)) for url in fresh_urls]
    yield databases
    for database in databases:
        await database.dispose()


def _history(connection: Connection, owner: uuid.UUID) -> None:
    """Local writes of every kind: rows, edits, deletes, a setting, tags and taggings."""
    create_account(connection, "me", account_id=owner)
    plan = ["portfolio", "asset", "deposit", "buy", "buy", "sell", "edit", "edit", "delete", "setting", "split"]
    for n in range(120):
        with contextlib.suppress(InsufficientHoldingsError, ConflictError):
            _act(connection, owner, plan[n % len(plan)], n, n * 7 % 50 + 1)
    portfolio = list_portfolios(connection, owner)[0].id
    kept = save_tag(connection, owner, new_tag(owner, "kept", "#00ff00"))
    dropped = save_tag(connection, owner, new_tag(owner, "dropped"))
    save_tagging(connection, owner, kept.id, "portfolio", portfolio)
    save_tagging(connection, owner, dropped.id, "portfolio", portfolio)
    delete_row(connection, tags, owner, dropped.id)  # a tombstone, and its tagging's


def _foreign(connection: Connection, owner: uuid.UUID) -> None:
    """Another device's writes: edits that win columns, and rows whose references never came."""
    log = [(hlc, row_id, columns) for hlc, row_id, columns in _logged(connection, owner, "transactions")]
    hlc = max(hlc for hlc, _, _ in log) + 1
    bought = next(columns for _, _, columns in log if columns.get("asset_id"))
    edited = sorted({row_id for _, row_id, _ in log})[:5]
    incoming = [
        WireChange(hlc + n, OTHER_DEVICE, "transactions", row, "update", {"note": f"theirs {n}"})
        for n, row in enumerate(edited)
    ]
    orphan = {**bought, "asset_id": str(uuid.uuid4())}  # an asset no device ever sent
    incoming.append(WireChange(hlc + 10, OTHER_DEVICE, "transactions", str(uuid.uuid4()), "insert", orphan))
    tagging = {"tag_id": str(uuid.uuid4()), "entity_type": "portfolio", "entity_id": bought["portfolio_id"]}
    incoming.append(WireChange(hlc + 11, OTHER_DEVICE, "taggings", str(uuid.uuid4()), "insert", tagging))
    incoming.append(WireChange(hlc + 12, OTHER_DEVICE, "settings", "ui.locale", "insert", {"value_type": "string"}))
    apply_changes(connection, owner, incoming)


def _logged(connection: Connection, owner: uuid.UUID, table_name: str) -> list[tuple[int, str, dict[str, Any]]]:
    c = changes.c
    rows = connection.execute(
        select(c.hlc, c.row_id, c.columns).where(c.owner_id == owner, c.table_name == table_name).order_by(c.hlc)
    )
    return [(hlc, row_id, dict(columns)) for hlc, row_id, columns in rows]


def _seal(connection: Connection, owner: uuid.UUID, keys: DeviceKeys) -> tuple[uuid.UUID, list[bytes], int]:
    """The owner's compacted log, sealed in small chunks so rows span chunks; and its size."""
    compacted = list(compacted_changes(connection, owner))
    batches = list(split_changes(compacted, max_bytes=4000))
    snapshot_id = uuid.uuid4()
    sealed = []
    for n, batch in enumerate(batches):
        header = SnapshotHeader(
            SNAPSHOT_KIND, 1, keys.account_id, keys.device_id, keys.key_id, schema_version(), snapshot_id, 7, n,
            n == len(batches) - 1,
        )  # fmt: skip
        sealed.append(seal_chunk(header, {}, batch, data_key=keys.data_key, signing_key=keys.signing_key))
    return snapshot_id, sealed, len(compacted)


def _state(connection: Connection, owner: uuid.UUID) -> dict[str, Any]:
    """Everything a restore writes, comparable across devices (the log's JSON parsed)."""
    found: dict[str, Any] = {}
    for table in (*SYNCED_TABLES, sync_pending):
        rows = connection.execute(select(table).where(table.c.owner_id == owner)).all()
        found[table.name] = sorted(tuple(str(value) for value in row) for row in rows)
    c = changes.c
    log = connection.execute(
        select(c.hlc, c.device_id, c.table_name, c.row_id, c.op, c.columns)
        .where(c.owner_id == owner)
        .order_by(c.hlc, c.device_id)
    )
    found["changes"] = [(*row[:5], msgspec.json.decode(msgspec.json.encode(row[5]))) for row in log]
    found["conflicts"] = connection.scalar(select(func.count()).select_from(sync_conflicts))
    found["holdings"] = read_holdings(connection, owner, include_closed=True)
    found["cash"] = read_cash(connection, owner)
    return found


async def _source(make_device: DeviceFactory) -> tuple[Database, uuid.UUID, DeviceKeys]:
    """The device a snapshot is taken on, its owner, and keys to seal with."""
    db = (await make_device("source")).database
    owner = uuid.uuid4()
    keys = DeviceKeys(
        owner_id=owner, account_id=uuid.uuid4(), device_id="0011223344556677",
        signing_seed=nacl.utils.random(32), key_id="k1", data_keys={"k1": nacl.utils.random(32)},
    )  # fmt: skip
    return db, owner, keys


async def _restore(database: Database, keys: DeviceKeys, snapshot_id: uuid.UUID, sealed: Sequence[bytes]) -> None:
    await database.write(lambda c: create_account(c, "me", account_id=keys.owner_id))
    verify_keys = {keys.device_id: keys.signing_key.verify_key}
    await database.write(restore_snapshot, keys.owner_id, keys, snapshot_id, 7, sealed, verify_keys)


async def test_a_bulk_restore_leaves_exactly_what_the_general_merge_leaves(
    make_device: DeviceFactory, fresh: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, owner, keys = await _source(make_device)
    await db.write(_history, owner)
    await db.write(_foreign, owner)
    snapshot_id, sealed, compacted = await db.read(_seal, owner, keys)
    assert len(sealed) > 5

    bulk, general = fresh
    taken: list[int | None] = []
    restore_fresh = snapshot_module.restore_fresh

    def spy(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> int | None:
        taken.append(restore_fresh(connection, owner_id, incoming))
        return taken[-1]

    monkeypatch.setattr(snapshot_module, "restore_fresh", spy)
    await _restore(bulk, keys, snapshot_id, sealed)
    assert taken == [compacted]
    monkeypatch.setattr(snapshot_module, "holds_nothing", lambda connection, owner_id: False)
    await _restore(general, keys, snapshot_id, sealed)
    assert taken == [compacted]  # the general path, chunk by chunk

    restored = await bulk.read(_state, owner)
    assert restored == await general.read(_state, owner)
    assert len(restored["changes"]) == compacted
    pending = {(table_name, row_id) for _owner, table_name, row_id in restored["sync_pending"]}
    assert {table_name for table_name, _ in pending} == {"transactions", "taggings", "settings"}
    deleted = select(func.count()).select_from(tags).where(tags.c.owner_id == owner, tags.c.deleted_at.is_not(None))
    assert await bulk.read(lambda c: c.scalar(deleted)) == 1  # the tombstone came along
    assert len(restored["taggings"]) == 2
    assert restored["settings"]
    assert restored["holdings"]
    assert restored["conflicts"] == 0
    # The source device holds the same rows (its own stamps aside) and the same holdings.
    source = await db.read(_state, owner)
    assert source["holdings"] == restored["holdings"]
    assert source["cash"] == restored["cash"]
    assert source["sync_pending"] == restored["sync_pending"]


async def test_a_device_that_holds_something_takes_the_general_path(
    make_device: DeviceFactory, fresh: list[Database], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, owner, keys = await _source(make_device)
    await db.write(_history, owner)
    snapshot_id, sealed, _compacted = await db.read(_seal, owner, keys)
    device = fresh[0]
    await device.write(lambda c: create_account(c, "me", account_id=owner))
    await device.write(_act, owner, "portfolio", 99, 1)  # a local row before the restore

    def refuse(connection: Connection, owner_id: uuid.UUID, incoming: Sequence[WireChange]) -> int | None:
        raise AssertionError("the bulk path on a device that holds rows")

    monkeypatch.setattr(snapshot_module, "restore_fresh", refuse)
    verify_keys = {keys.device_id: nacl.signing.VerifyKey(bytes(keys.signing_key.verify_key))}
    await device.write(restore_snapshot, owner, keys, snapshot_id, 7, sealed, verify_keys)
    source, restored = await db.read(_state, owner), await device.read(_state, owner)
    assert len(restored["portfolios"]) == len(source["portfolios"]) + 1
