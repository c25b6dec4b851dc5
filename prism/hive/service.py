"""The hive's services over a :class:`~prism.storage.engine.Database` (what the API calls).

``identity`` is who stands behind a contribution at the door (an account id): it is
turned into the epoch's pseudonym inside the transaction and goes no further. The
client address only picks a coarse rate-limit bucket. Neither is stored or logged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import Connection

from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.hive.checks import check_contribution
from prism.hive.contributions import current_version, store_batch
from prism.hive.pseudonyms import address_bucket, epoch_of, epoch_secret, pseudonym
from prism.hive.resolve import resolve_isins
from prism.hive.snapshots import build_snapshot, encode_snapshot
from prism.hive.wire import ContributionIn, ContributionOut, Resolution, ResolveOut
from prism.storage.engine import Database
from prism.storage.identity import count_attempt

__all__ = [
    "ADDRESS_LIMIT",
    "CONTRIBUTOR_LIMIT",
    "LIMIT_WINDOW_SECONDS",
    "Admission",
    "admit",
    "check_batch",
    "contribute",
    "hive_version",
    "resolve_many",
    "resolve_one",
    "snapshot_bytes",
]

#: Contributions per pseudonym, and per address bucket, in one window.
CONTRIBUTOR_LIMIT = 120
ADDRESS_LIMIT = 600
LIMIT_WINDOW_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a contribution may go ahead, and if not, when to come back."""

    admitted: bool
    retry_after: int


def _count(connection: Connection, identity: str, address: str | None, today: dt.date) -> tuple[int, int]:
    secret = epoch_secret(connection, epoch_of(today))
    per_contributor = count_attempt(connection, f"hive:p:{pseudonym(secret, identity)}", LIMIT_WINDOW_SECONDS)
    per_address = 0
    if address:
        per_address = count_attempt(connection, f"hive:a:{address_bucket(secret, address)}", LIMIT_WINDOW_SECONDS)
    return per_contributor, per_address


async def admit(database: Database, identity: str, address: str | None, *, today: dt.date) -> Admission:
    """Count one contribution against the contributor's and the address bucket's limits."""
    per_contributor, per_address = await database.write(_count, identity, address, today)
    if per_contributor > CONTRIBUTOR_LIMIT or per_address > ADDRESS_LIMIT:
        return Admission(False, LIMIT_WINDOW_SECONDS)
    return Admission(True, 0)


def _contribute(connection: Connection, batch: ContributionIn, identity: str, today: dt.date) -> ContributionOut:
    checked = check_contribution(batch, today=today)
    epoch = epoch_of(today)
    who = pseudonym(epoch_secret(connection, epoch), identity)
    version = store_batch(connection, checked, who, epoch, today)
    return ContributionOut(version=version, epoch=epoch, accepted=checked.counts)


def check_batch(batch: ContributionIn, *, today: dt.date) -> None:
    """Raise the first problem of ``batch`` (nothing is counted or written for a bad batch)."""
    check_contribution(batch, today=today)


async def contribute(database: Database, batch: ContributionIn, identity: str, *, today: dt.date) -> ContributionOut:
    """Store ``batch`` under ``identity``'s pseudonym of this epoch; the hive's new version."""
    return await database.write(_contribute, batch, identity, today)


async def resolve_one(database: Database, isin: str, *, today: dt.date) -> Resolution | None:
    """What the hive knows of ``isin``, composition rows included; None when nothing."""
    wanted = parse_isin(isin)
    _version, found = await database.read(resolve_isins, [wanted], today=today, with_holdings=True)
    return found.get(wanted)


async def resolve_many(database: Database, isins: Sequence[str], *, today: dt.date) -> ResolveOut:
    """Many ISINs at once (compositions summarised); unknown ones listed apart."""
    wanted = [parse_isin(isin, field=f"isins[{index}]") for index, isin in enumerate(isins)]
    version, found = await database.read(resolve_isins, wanted, today=today)
    unknown = [isin for isin in dict.fromkeys(wanted) if isin not in found]
    return ResolveOut(version=version, items=[found[i] for i in dict.fromkeys(wanted) if i in found], unknown=unknown)


async def hive_version(database: Database) -> int:
    """The hive's current version."""
    return await database.read(current_version)


async def snapshot_bytes(database: Database, since: int) -> tuple[int, bytes]:
    """The encoded snapshot (or delta after ``since``) and the version it brings a device to."""
    if since < 0:
        raise ValidationError("must not be negative", field="since")
    snapshot = await database.read(build_snapshot, since)
    return snapshot.version, encode_snapshot(snapshot)
