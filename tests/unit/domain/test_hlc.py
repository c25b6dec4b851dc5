"""Hybrid logical clock rules (docs/sync-protocol.md §1)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prism.domain.hlc import MAX_DRIFT_MS, hlc_receive, hlc_tick, hlc_time, pack_hlc, unpack_hlc
from prism.errors import ValidationError

NOW = 1_764_000_000_000


def test_a_tick_follows_the_wall_clock() -> None:
    assert unpack_hlc(hlc_tick(0, NOW)) == (NOW, 0)


def test_ticks_within_one_millisecond_count_up() -> None:
    first = hlc_tick(0, NOW)
    second = hlc_tick(first, NOW)
    assert unpack_hlc(second) == (NOW, 1)


def test_a_clock_that_goes_back_does_not_take_the_hlc_back() -> None:
    first = hlc_tick(0, NOW)
    assert hlc_tick(first, NOW - 60_000) > first


def test_receiving_moves_past_the_remote_but_refuses_the_implausible() -> None:
    remote = pack_hlc(NOW + 5_000, 3)
    assert hlc_tick(hlc_receive(0, remote, NOW), NOW) > remote
    with pytest.raises(ValidationError):
        hlc_receive(0, pack_hlc(NOW + MAX_DRIFT_MS + 1, 0), NOW)


def test_hlc_time_is_the_millisecond_part() -> None:
    assert hlc_time(pack_hlc(NOW, 9)).timestamp() == NOW / 1000


@given(st.lists(st.integers(NOW - 10_000, NOW + 10_000), min_size=1, max_size=200))
def test_local_ticks_are_strictly_increasing_whatever_the_wall_clock(walls: list[int]) -> None:
    last, seen = 0, []
    for wall in walls:
        last = hlc_tick(last, wall)
        seen.append(last)
    assert seen == sorted(set(seen))
