"""Which snapshots prune keeps: restic's daily, weekly and monthly rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prism.backup import keep_snapshots

START = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _daily(days: int, per_day: int = 1) -> dict[str, datetime]:
    return {f"{day:03d}-{n}": START + timedelta(days=day, hours=n) for day in range(days) for n in range(per_day)}


def test_keep_daily_keeps_the_newest_snapshot_of_each_recent_day() -> None:
    times = _daily(10, per_day=3)

    kept = keep_snapshots(times, keep_daily=3, keep_weekly=0, keep_monthly=0)

    assert kept == {"009-2", "008-2", "007-2"}


def test_rules_overlap_and_add_up() -> None:
    times = _daily(70)  # 2026-01-01 .. 2026-03-11

    kept = keep_snapshots(times, keep_daily=2, keep_weekly=2, keep_monthly=3)

    # Days: 11 and 10 March. Weeks: this ISO week's newest (11 March), last week's (Sunday 8 March).
    # Months: March's newest, 28 February, 31 January.
    assert kept == {"069-0", "068-0", "066-0", "058-0", "030-0"}


def test_keeping_more_than_exist_keeps_everything() -> None:
    times = _daily(4)

    assert keep_snapshots(times, keep_daily=30, keep_weekly=0, keep_monthly=0) == set(times)


def test_one_monthly_keeps_only_the_newest() -> None:
    times = _daily(40)

    assert keep_snapshots(times, keep_daily=0, keep_weekly=0, keep_monthly=1) == {"039-0"}
