"""A device's own store may be PostgreSQL too (a hosted ledger acting as a device):
sealing its log and compacting it work on both databases."""

from __future__ import annotations

import uuid

import nacl.signing
import nacl.utils

from prism.storage.engine import Database
from prism.sync.codec import unseal
from prism.sync.keys import DeviceKeys
from prism.sync.link import create_link, device_id_of, outbox, seal_outbox
from prism.sync.merge import changes_since
from prism.sync.snapshot import compacted_changes
from tests.builders import entry, make_book, record


async def test_a_device_on_either_database_seals_and_compacts_its_log(db: Database) -> None:
    book = await make_book(db)
    await record(db, book.owner, entry(book.portfolios[0], "deposit", "2024-01-02", amount="10"))
    device = await db.write(device_id_of, book.owner)
    signing = nacl.signing.SigningKey.generate()
    keys = DeviceKeys(
        owner_id=book.owner,
        account_id=uuid.uuid4(),
        device_id=device,
        signing_seed=bytes(signing),
        key_id="k1",
        data_keys={"k1": nacl.utils.random(32)},
    )
    await db.write(create_link, book.owner, "http://relay.test", keys.account_id)
    sealed = await db.write(seal_outbox, book.owner, keys, "0011")
    log = await db.read(changes_since, book.owner)
    assert sealed == len(log) > 0
    opened = []
    for seq, _count, body in await db.read(outbox, book.owner):
        _header, found = unseal(
            body, account_id=keys.account_id, verify_key=signing.verify_key, data_keys=keys.data_keys, last_seq=seq - 1
        )
        opened.extend(found)
    assert opened == log
    compacted = await db.read(lambda c: list(compacted_changes(c, book.owner)))
    assert {(c.table, c.row_id) for c in compacted} == {(c.table, c.row_id) for c in log}
