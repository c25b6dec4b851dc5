"""Hybrid logical clocks: 48-bit milliseconds, a 16-bit counter, and a device id.

See ``docs/sync-protocol.md`` §1. Timestamps are plain integers so they sort, store
and compare cheaply; the device id breaks ties between devices.
"""

from __future__ import annotations

import datetime as dt

from prism.errors import ValidationError

__all__ = ["MAX_DRIFT_MS", "hlc_plausible", "hlc_receive", "hlc_tick", "hlc_time", "pack_hlc", "unpack_hlc"]

COUNTER_BITS = 16
COUNTER_MASK = (1 << COUNTER_BITS) - 1
#: A remote clock this far ahead of ours is refused rather than followed.
MAX_DRIFT_MS = 24 * 60 * 60 * 1000


def pack_hlc(physical_ms: int, counter: int) -> int:
    """The integer form of (milliseconds, counter)."""
    if not 0 <= counter <= COUNTER_MASK or not 0 <= physical_ms < 1 << 48:
        raise ValueError("HLC out of range")
    return (physical_ms << COUNTER_BITS) | counter


def unpack_hlc(hlc: int) -> tuple[int, int]:
    """(milliseconds, counter) of an HLC."""
    return hlc >> COUNTER_BITS, hlc & COUNTER_MASK


def hlc_tick(last: int, now_ms: int) -> int:
    """The HLC of a local event after ``last``, at wall-clock ``now_ms``.

    Strictly greater than ``last``; follows the wall clock when it is ahead. A full
    counter spills into the millisecond part, which keeps the order intact.
    """
    return max(now_ms << COUNTER_BITS, last + 1)


def hlc_plausible(remote: int, now_ms: int) -> bool:
    """Whether ``remote`` is no more than :data:`MAX_DRIFT_MS` ahead of the wall clock."""
    return (remote >> COUNTER_BITS) - now_ms <= MAX_DRIFT_MS


def hlc_receive(last: int, remote: int, now_ms: int) -> int:
    """``last`` after seeing ``remote``; a remote clock too far in the future is refused."""
    if not hlc_plausible(remote, now_ms):
        raise ValidationError("a remote clock is implausibly far in the future", field="hlc")
    return max(last, remote)


def hlc_time(hlc: int) -> dt.datetime:
    """The wall-clock time an HLC stands for (UTC)."""
    return dt.datetime.fromtimestamp((hlc >> COUNTER_BITS) / 1000, tz=dt.UTC)
