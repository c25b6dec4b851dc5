"""A device applies nothing of a change set that is tampered with, truncated, replayed
from another account, sealed under another key, signed by a device nobody enrolled, or
that leaves a gap; the relay is the adversary here (it edits what it stores)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import nacl.signing
import nacl.utils
import pytest
from sqlalchemy import select, update

from prism.config import DatabaseSettings
from prism.domain.ids import new_id
from prism.storage.annotations import Note, list_notes, save_note
from prism.storage.engine import open_database
from prism.storage.tables import relay_sets
from prism.sync.codec import ChangeSetHeader, WireChange, read_header, seal
from prism.sync.engine import SyncEngine
from prism.sync.keys import DeviceKeys
from prism.sync.link import apply_page
from tests.builders import make_book
from tests.integration.sync.conftest import Device, DeviceFactory, Relay
from tests.integration.sync.test_engine import _first, _join, _sync


async def _pair(relay: Relay, make_device: DeviceFactory) -> tuple[Device, DeviceKeys, Device, DeviceKeys]:
    laptop, phone = await make_device("laptop"), await make_device("phone")
    await make_book(laptop.database)
    laptop_keys = await _first(relay, laptop)
    await _sync(relay, laptop, laptop_keys)
    phone_keys = await _join(relay, phone, laptop_keys.account_id)
    await _sync(relay, phone, phone_keys)
    return laptop, laptop_keys, phone, phone_keys


async def _rewrite_last_set(relay: Relay, account: uuid.UUID, change: Callable[[bytes], bytes]) -> None:
    database = open_database(DatabaseSettings(url=relay.database_url, pool_size=1))
    try:
        s = relay_sets.c

        def edit(connection: object) -> None:
            seq, body = connection.execute(  # type: ignore[attr-defined]
                select(s.seq, s.body).where(s.account_id == account).order_by(s.seq.desc()).limit(1)
            ).one()
            connection.execute(  # type: ignore[attr-defined]
                update(relay_sets).where(s.account_id == account, s.seq == seq).values(body=change(bytes(body)))
            )

        await database.write(edit)
    finally:
        await database.dispose()


def _flip_last_byte(body: bytes) -> bytes:
    return body[:-1] + bytes([body[-1] ^ 1])


def _truncate(body: bytes) -> bytes:
    return body[: len(body) // 2]


def _flip_in_ciphertext(body: bytes) -> bytes:
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0x40]) + body[middle + 1 :]


@pytest.mark.parametrize("tamper", [_flip_last_byte, _truncate, _flip_in_ciphertext])
async def test_a_set_altered_at_the_relay_applies_nothing(
    relay: Relay, make_device: DeviceFactory, tamper: Callable[[bytes], bytes]
) -> None:
    laptop, laptop_keys, phone, phone_keys = await _pair(relay, make_device)
    await laptop.database.write(save_note, laptop_keys.owner_id, Note(new_id(), "altered in transit"))
    await _sync(relay, laptop, laptop_keys)
    await _rewrite_last_set(relay, laptop_keys.account_id, tamper)
    async with relay.client() as client:
        report = await SyncEngine(phone.database, phone_keys, client).sync_once()
    assert len(report.rejected) + report.held_sets == 1
    assert report.applied_changes == 0
    assert await phone.database.read(list_notes, phone_keys.owner_id) == []


def _foreign_set(
    keys: DeviceKeys,
    *,
    account: uuid.UUID | None = None,
    data_key: bytes | None = None,
    signer: nacl.signing.SigningKey | None = None,
    device: str | None = None,
    seq: int = 1,
) -> bytes:
    header = ChangeSetHeader(
        1, account or keys.account_id, device or keys.device_id, keys.key_id, "0009", seq, uuid.uuid4()
    )
    change = WireChange(1, header.device_id, "notes", str(uuid.uuid4()), "insert", {"body": "injected"})
    return seal(header, [change], data_key=data_key or keys.data_key, signing_key=signer or keys.signing_key)


async def test_replayed_wrongly_keyed_forged_and_gapped_sets_apply_nothing(
    relay: Relay, make_device: DeviceFactory
) -> None:
    _laptop, laptop_keys, phone, phone_keys = await _pair(relay, make_device)
    sent = laptop_keys.device_id
    last = await phone.database.read(
        lambda c: c.exec_driver_sql("SELECT last_seq FROM sync_peers WHERE device_id = ?", (sent,)).scalar()
    )
    cases = {
        "another account": _foreign_set(laptop_keys, account=uuid.uuid4(), seq=last + 1),
        "another key": _foreign_set(laptop_keys, data_key=nacl.utils.random(32), seq=last + 1),
        "a key nobody enrolled": _foreign_set(laptop_keys, signer=nacl.signing.SigningKey.generate(), seq=last + 1),
        "a device nobody enrolled": _foreign_set(laptop_keys, device="00000000deadbeef", seq=1),
        "a gap": _foreign_set(laptop_keys, seq=last + 2),
        "a replay": _foreign_set(laptop_keys, seq=last),
    }
    for name, body in cases.items():
        assert read_header(body).device_seq >= 1
        report = await phone.database.write(apply_page, phone_keys.owner_id, phone_keys, [(10_000, body)])
        assert report.changes == 0, name
    assert await phone.database.read(list_notes, phone_keys.owner_id) == []
    count = await phone.database.read(lambda c: c.exec_driver_sql("SELECT count(*) FROM sync_held_sets").scalar())
    assert count == 2  # the gap and the unknown device wait; nothing of theirs applied
