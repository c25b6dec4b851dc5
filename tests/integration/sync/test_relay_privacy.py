"""Privacy: the relay stores and answers only opaque, padded blobs.

Distinctive strings and amounts written on a device never appear in the relay's
database (its files on SQLite, every row on PostgreSQL) or in anything it answers,
and change sets of different sizes within one bucket are stored at equal sizes.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from sqlalchemy import LargeBinary, String, cast, func, inspect, select

from prism.config import DatabaseSettings
from prism.domain.ids import new_id
from prism.storage.annotations import Note, save_note
from prism.storage.engine import open_database
from prism.storage.tables import metadata, relay_sets
from prism.sync.engine import SyncEngine
from tests.builders import entry, make_book, record
from tests.integration.sync.conftest import DeviceFactory, Relay
from tests.integration.sync.test_engine import _first, _join, _sync

SECRET_NOTE = "Zyxwv Private Holdings of Aunt Qwertzuiop"
SECRET_AMOUNT = "98765.4321"


async def _relay_text(relay: Relay) -> bytes:
    """Everything the relay's database holds, as bytes to search."""
    database = open_database(DatabaseSettings(url=relay.database_url, pool_size=1))
    try:
        if database.dialect == "sqlite":
            path = Path(relay.database_url.split(":///", 1)[1])
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))

        def dump(connection: object) -> bytes:
            found = b""
            names = inspect(connection).get_table_names()  # type: ignore[arg-type]
            for table in metadata.sorted_tables:
                if table.name not in names:
                    continue
                for column in table.columns:
                    kind = LargeBinary() if isinstance(column.type, LargeBinary) else String()
                    for (value,) in connection.execute(select(cast(column, kind))):  # type: ignore[attr-defined]
                        found += value if isinstance(value, bytes) else str(value).encode()
            return found

        return await database.read(dump)
    finally:
        await database.dispose()


async def test_distinctive_data_never_reaches_the_relay_in_the_clear(relay: Relay, make_device: DeviceFactory) -> None:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    book = await make_book(laptop.database)
    await record(laptop.database, book.owner, entry(book.portfolios[0], "deposit", "2024-01-02", amount=SECRET_AMOUNT))
    await laptop.database.write(save_note, book.owner, Note(new_id(), SECRET_NOTE))
    keys = await _first(relay, laptop)
    await _sync(relay, laptop, keys)
    phone_keys = await _join(relay, phone, keys.account_id)
    responses: list[bytes] = []

    async def keep(response: httpx.Response) -> None:
        responses.append(await response.aread())

    async with relay.client() as client:
        client._http.event_hooks["response"].append(keep)  # watch what the relay answers
        await SyncEngine(phone.database, phone_keys, client).sync_once()
    assert len(responses) >= 2
    stored = await _relay_text(relay)
    assert str(keys.account_id).encode() in stored  # the dump does reach the relay's rows
    assert len(stored) > 2_000
    for secret in (SECRET_NOTE, "Qwertzuiop", SECRET_AMOUNT, "98765"):
        assert secret.encode() not in stored
        assert all(secret.encode() not in body for body in responses)
    # ...while the phone, holding the key, has it all.
    assert SECRET_NOTE in str(await phone.database.read(lambda c: c.exec_driver_sql("SELECT body FROM notes").all()))


async def test_sets_of_different_sizes_in_one_bucket_are_stored_equal(relay: Relay, make_device: DeviceFactory) -> None:
    laptop = await make_device("laptop")
    book = await make_book(laptop.database)
    keys = await _first(relay, laptop)
    await _sync(relay, laptop, keys)  # the setup changes: one set
    await laptop.database.write(save_note, book.owner, Note(new_id(), "a"))
    await _sync(relay, laptop, keys)
    await laptop.database.write(save_note, book.owner, Note(new_id(), "a much longer note " * 4))
    await _sync(relay, laptop, keys)
    database = open_database(DatabaseSettings(url=relay.database_url, pool_size=1))
    try:
        s = relay_sets.c
        query = select(func.length(s.body)).where(s.account_id == keys.account_id).order_by(s.seq)
        sizes = await database.read(lambda c: list(c.scalars(query)))
    finally:
        await database.dispose()
    assert len(sizes) == 3
    assert sizes[1] == sizes[2]
    assert uuid.UUID(str(keys.account_id))
