"""Per-owner analytics sealed under a key the lake no longer has are derived data: the
snapshots job drops them and computes them again, instead of failing every request."""

from __future__ import annotations

from pathlib import Path

import pytest

from prism.analytics.history import value_history
from prism.config import LakeSettings
from prism.errors import UnreadableDataError
from prism.storage.engine import Database
from prism.storage.lake import SNAPSHOTS, open_lake
from tests.integration.lake.test_value_history import worked_example

FIRST, SECOND = bytes(range(32)), bytes(range(1, 33))


async def test_analytics_under_a_lost_key_are_computed_again(
    db: Database, lake_settings: LakeSettings, tmp_path: Path
) -> None:
    lock = tmp_path / "lake.lock"
    before = open_lake(lake_settings, owner_key=FIRST)
    owner, portfolio = await worked_example(db, before)
    first = await value_history(db, before, lock, owner, portfolio)

    after = open_lake(lake_settings, owner_key=SECOND)  # the key changed; the files did not
    again = await value_history(db, after, lock, owner, portfolio)

    assert again.days == first.days
    with pytest.raises(UnreadableDataError):
        before.query(f"SELECT count(*) FROM {before.scan(SNAPSHOTS, owner)}")
    plain = open_lake(lake_settings)  # and back to no key at all
    assert (await value_history(db, plain, lock, owner, portfolio)).days == first.days
    for lake in (before, after, plain):
        lake.close()
