"""The epoch secret on both databases: made once per epoch, and gone when the epoch is over."""

from __future__ import annotations

from sqlalchemy import select

from prism.hive.pseudonyms import epoch_secret, pseudonym
from prism.storage.engine import Database
from prism.storage.hive_tables import hive_epochs

IDENTITY = "account:5f0c7d4e-3c1b-4b1e-9a57-2f1d1e8f4a10"


async def test_the_pseudonym_changes_across_epochs_and_old_secrets_are_deleted(db: Database) -> None:
    first = await db.write(epoch_secret, 100)
    assert await db.write(epoch_secret, 100) == first  # stable within an epoch
    second = await db.write(epoch_secret, 101)
    assert pseudonym(first, IDENTITY) != pseudonym(second, IDENTITY)
    kept = await db.read(lambda c: list(c.execute(select(hive_epochs.c.epoch)).scalars()))
    assert kept == [101]  # epoch 100's pseudonyms can no longer be recomputed by anyone
