"""The engine's back-off: exponential, jittered, capped, and reset by a success."""

from __future__ import annotations

from prism.sync.engine import Backoff


def test_backoff_grows_to_its_ceiling_with_jitter_and_resets() -> None:
    backoff = Backoff(base=0.5, ceiling=4)
    delays = [backoff.next_delay() for _ in range(8)]
    assert all(0 <= d <= 4 for d in delays)
    assert max(delays[4:]) <= 4
    backoff.reset()
    assert backoff.next_delay() <= 0.5
