"""A device whose database is encrypted at rest syncs like any other, with a relay on
SQLite and on PostgreSQL: at-rest encryption is below the sync layer, not beside it."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

from prism.config import DatabaseSettings
from prism.storage.engine import open_database
from prism.storage.holdings import read_cash
from prism.storage.sqlite_conversion import convert_database
from prism.storage.sqlite_keys import file_state, fresh_key
from prism.sync.enrol import create_sync_account, join_sync_account
from tests.builders import entry, make_book, record
from tests.integration.sync.conftest import FAST_KDF, PASSPHRASE, Relay
from tests.integration.sync.test_relay_convergence import _final_exchange

AT_REST = "harbor violin sixty meadow"


async def test_an_encrypted_device_and_a_plain_one_converge(
    relay: Relay, sqlite_template: Path, tmp_path: Path
) -> None:
    encrypted_path, plain_path = tmp_path / "encrypted.db", tmp_path / "plain.db"
    shutil.copyfile(sqlite_template, encrypted_path)
    shutil.copyfile(sqlite_template, plain_path)
    convert_database(encrypted_path, None, fresh_key(AT_REST))
    encrypted = open_database(DatabaseSettings(url=f"sqlite:///{encrypted_path}", encrypt=True, passphrase=AT_REST))
    plain = open_database(DatabaseSettings(url=f"sqlite:///{plain_path}"))
    try:
        book = await make_book(encrypted)
        await record(encrypted, book.owner, entry(book.portfolios[0], "deposit", "2024-01-02", amount="777.25"))
        async with relay.client() as client:
            first = await create_sync_account(
                encrypted, client, relay_url=relay.url, passphrase=PASSPHRASE, settings=FAST_KDF,
                keys_path=tmp_path / "keys-encrypted",
            )  # fmt: skip
            second = await join_sync_account(
                plain, client, relay_url=relay.url, account_id=first.keys.account_id, passphrase=PASSPHRASE,
                keys_path=tmp_path / "keys-plain",
            )  # fmt: skip
        for _ in range(2):
            await _final_exchange(relay, encrypted, first.keys)
            await _final_exchange(relay, plain, second)
        await record(plain, book.owner, entry(book.portfolios[0], "deposit", "2024-01-03", amount="0.75"))
        for _ in range(2):
            await _final_exchange(relay, plain, second)
            await _final_exchange(relay, encrypted, first.keys)

        expected = await encrypted.read(read_cash, book.owner)
        assert expected == await plain.read(read_cash, book.owner)
        assert [(cash.currency, cash.balance) for cash in expected] == [("EUR", Decimal("778.00"))]
        assert file_state(encrypted_path) == "encrypted"
        assert b"777.25" not in encrypted_path.read_bytes()
    finally:
        await encrypted.dispose()
        await plain.dispose()
