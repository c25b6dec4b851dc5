"""Contributions through the service on both databases: concurrent writers, versions, repeats."""

from __future__ import annotations

import asyncio
import datetime as dt

from prism.hive.service import contribute, resolve_one
from prism.hive.wire import AssetIn, ContributionIn
from prism.storage.engine import Database

APPLE = "US0378331005"
TODAY = dt.date(2025, 12, 1)


async def test_concurrent_contributions_each_get_their_own_version_and_all_count(db: Database) -> None:
    batch = ContributionIn(assets=[AssetIn(isin=APPLE, name="Apple Inc.")])
    done = await asyncio.gather(*(contribute(db, batch, f"account:{n}", today=TODAY) for n in range(6)))
    # Every contribution changed the contributor count, so each took a version of its own.
    assert sorted(out.version for out in done) == [1, 2, 3, 4, 5, 6]
    found = await resolve_one(db, APPLE, today=TODAY)
    assert found is not None
    assert (found.contributors, found.fields["name"].contributors) == (6, 6)


async def test_a_repeat_that_changes_nothing_takes_no_version(db: Database) -> None:
    batch = ContributionIn(assets=[AssetIn(isin=APPLE, name="Apple Inc.")])
    first = await contribute(db, batch, "account:a", today=TODAY)
    again = await contribute(db, batch, "account:a", today=TODAY + dt.timedelta(days=1))
    assert again.version == first.version
