"""Per-epoch pseudonyms: what the hive stores instead of who contributed.

A contributor's pseudonym is HMAC-SHA256(epoch secret, identity), cut to 128 bits.
The secret is random, lives only in the database (``hive_epochs``), and is deleted
once its epoch is over: afterwards nobody, the operator included, can recompute
which identity a stored pseudonym stood for, and pseudonyms of two epochs cannot be
linked. Client addresses are never stored: the per-connection rate limit counts a
20-bit keyed bucket of the address, which thousands of addresses share.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from prism.storage.hive_tables import hive_epochs

__all__ = ["EPOCH_DAYS", "address_bucket", "epoch_of", "epoch_secret", "pseudonym"]

#: Length of an epoch. Within one, a contributor who repeats itself counts once.
EPOCH_DAYS = 30


def epoch_of(day: dt.date) -> int:
    """The epoch ``day`` falls in (epochs count from 1970-01-01)."""
    return (day - dt.date(1970, 1, 1)).days // EPOCH_DAYS


def epoch_secret(connection: Connection, epoch: int) -> bytes:
    """The secret of ``epoch``, made on first use; secrets of earlier epochs are deleted."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(
        dialect.insert(hive_epochs)
        .values(epoch=epoch, secret=secrets.token_bytes(32))
        .on_conflict_do_nothing(index_elements=["epoch"])
    )
    connection.execute(delete(hive_epochs).where(hive_epochs.c.epoch < epoch))
    secret: bytes = connection.execute(select(hive_epochs.c.secret).where(hive_epochs.c.epoch == epoch)).scalar_one()
    return secret


def pseudonym(secret: bytes, identity: str) -> str:
    """The pseudonym of ``identity`` (an account id, say) under an epoch's secret."""
    return hmac.new(secret, b"contributor:" + identity.encode(), hashlib.sha256).hexdigest()[:32]


def address_bucket(secret: bytes, address: str) -> str:
    """A coarse keyed bucket of a client address (20 bits): a rate-limit key, not an address."""
    return hmac.new(secret, b"address:" + address.encode(), hashlib.sha256).hexdigest()[:5]
