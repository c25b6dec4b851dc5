"""Long-poll wake-ups: a push wakes a pull held by the same relay process, and on
PostgreSQL one held by another replica (LISTEN/NOTIFY)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nacl.signing
import nacl.utils
import pytest

from prism.api import create_app
from prism.client.relay import RelayClient, RelayIdentity
from prism.config import load_settings
from prism.sync.codec import ChangeSetHeader, WireChange, seal
from tests.integration.sync.conftest import Relay
from tests.serving import served_app

DEVICE = "00112233445566aa"


@pytest.fixture
def second_replica(relay: Relay, backend: str, tmp_path: Path) -> Iterator[str]:
    """Another relay process on the same database (PostgreSQL); the same one on SQLite."""
    if backend == "sqlite":
        yield relay.url  # a SQLite relay is one process
        return
    settings = load_settings({"PRISM_MODE": "hosted"}, data_dir=tmp_path / "replica", database_url=relay.database_url)
    with served_app(create_app(settings)) as url:
        yield url


def _sealed(account: uuid.UUID, key: nacl.signing.SigningKey) -> bytes:
    header = ChangeSetHeader(1, account, DEVICE, "k1", "0001", 1, uuid.uuid4())
    change = WireChange(1, DEVICE, "notes", str(uuid.uuid4()), "insert", {"body": "hello"})
    return seal(header, [change], data_key=nacl.utils.random(32), signing_key=key)


async def test_a_push_wakes_a_pull_held_by_any_replica(relay: Relay, second_replica: str) -> None:
    key = nacl.signing.SigningKey.generate()
    async with RelayClient(relay.url) as pusher, RelayClient(second_replica) as puller:
        account = await pusher.create_account(DEVICE, key.verify_key)
        pusher.identity = puller.identity = RelayIdentity(account, DEVICE, key)
        waiting = asyncio.create_task(puller.pull(0, wait=20))
        await asyncio.sleep(0.5)  # the pull is now held
        assert not waiting.done()
        pushed_at = time.perf_counter()
        await pusher.push(_sealed(account, key))
        page = await waiting
        woke_after = time.perf_counter() - pushed_at
    assert [item.seq for item in page.items] == [1]
    assert woke_after < 5, f"the held pull took {woke_after:.1f} s: it waited out its timeout"
