"""A device on an older schema keeps what it cannot apply yet and applies it after
upgrading; it never refuses a newer device's changes."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import Connection, func, select

from prism.storage.catalog import create_account
from prism.storage.engine import Database
from prism.storage.ledger import get_transaction
from prism.storage.tables import sync_held_changes
from prism.sync.codec import ChangeSetHeader, WireChange, seal
from prism.sync.held_changes import CURRENT_SCHEMA, hold_changes, release_held_changes, split_known
from prism.sync.link import apply_page
from prism.sync.merge import apply_changes
from tests.builders import make_book
from tests.integration.sync.conftest import DeviceFactory, Relay
from tests.integration.sync.test_rejections import _pair

DEVICE = "feedfacecafebeef"
#: The schema of a Prism release before transactions had notes (one column fewer).
OLDER_SCHEMA = {**CURRENT_SCHEMA, "transactions": CURRENT_SCHEMA["transactions"] - {"note"}}


def _newer_device_changes(portfolio: uuid.UUID) -> list[WireChange]:
    now = time.time_ns() // 1_000_000 << 16
    row = str(uuid.uuid4())
    transaction = {
        "portfolio_id": str(portfolio),
        "type": "deposit",
        "date": "2024-05-01",
        "entry_order": 1,
        "currency": "EUR",
        "amount": "250",
        "fee": "0",
        "tax": "0",
        "note": "from the future",
    }
    return [
        WireChange(now, DEVICE, "transactions", row, "insert", transaction),
        WireChange(now + 1, DEVICE, "watchlists", str(uuid.uuid4()), "insert", {"name": "Dividend kings"}),
        WireChange(now + 2, DEVICE, "notes", str(uuid.uuid4()), "archive", {"archived": True}),
    ]


async def test_unknown_columns_tables_and_operations_wait_for_the_upgrade(db: Database) -> None:
    book = await make_book(db)
    incoming = _newer_device_changes(book.portfolios[0])
    row = uuid.UUID(incoming[0].row_id)

    def arrive(connection: Connection) -> None:
        now, held = split_known(incoming, OLDER_SCHEMA)
        hold_changes(connection, book.owner, held, "0042")
        apply_changes(connection, book.owner, now)

    await db.write(arrive)
    await db.write(arrive)  # delivered twice: still held once
    stored = await db.read(get_transaction, book.owner, row)
    assert stored.entry.amount == 250  # the known part applies at once
    assert stored.details.note is None
    count = select(func.count()).select_from(sync_held_changes)
    assert await db.read(lambda c: c.scalar(count)) == 3

    assert await db.write(release_held_changes, book.owner, OLDER_SCHEMA) == 0  # not upgraded yet
    assert await db.write(release_held_changes, book.owner) == 1  # upgraded: the note column is known
    assert (await db.read(get_transaction, book.owner, row)).details.note == "from the future"
    assert await db.read(lambda c: c.scalar(count)) == 2  # the unknown table and operation still wait


async def test_a_fully_known_change_is_never_held(db: Database) -> None:
    owner = await db.write(lambda c: create_account(c, "me"))
    change = WireChange(1, DEVICE, "settings", "ui.theme", "insert", {"value_type": "string", "value": "dark"})
    assert split_known([change]) == ([change], [])
    assert owner is not None


async def test_a_pulled_set_from_a_newer_device_is_kept_not_refused(relay: Relay, make_device: DeviceFactory) -> None:
    _laptop, laptop_keys, phone, phone_keys = await _pair(relay, make_device)
    last = await phone.database.read(
        lambda c: c.exec_driver_sql(
            "SELECT last_seq FROM sync_peers WHERE device_id = ?", (laptop_keys.device_id,)
        ).scalar()
    )
    now = time.time_ns() // 1_000_000 << 16
    header = ChangeSetHeader(
        1, laptop_keys.account_id, laptop_keys.device_id, laptop_keys.key_id, "0042", last + 1, uuid.uuid4()
    )
    change = WireChange(now, laptop_keys.device_id, "watchlists", str(uuid.uuid4()), "insert", {"name": "Later"})
    body = seal(header, [change], data_key=laptop_keys.data_key, signing_key=laptop_keys.signing_key)
    report = await phone.database.write(apply_page, phone_keys.owner_id, phone_keys, [(99, body)])
    assert report.held_changes == 1
    assert report.rejected == []
    assert report.applied_sets == 1  # the stream goes on: the next set is not held behind it
