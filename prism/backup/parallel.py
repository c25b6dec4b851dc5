"""Spreading chunk work over threads: hashlib, zstd and libsodium release the GIL."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TypeVar

__all__ = ["WORKERS", "map_in_slices"]

T = TypeVar("T")
R = TypeVar("R")
WORKERS = max(2, min(os.cpu_count() or 2, 8))


def map_in_slices(pool: Executor, work: Callable[[T], R], items: list[T]) -> list[R]:
    """``[work(item) for item in items]``, one contiguous slice per worker, in order.

    One future per slice: a future per chunk would cost more than the work it spreads.
    """
    share = -(-len(items) // WORKERS) or 1
    slices = [items[start : start + share] for start in range(0, len(items), share)]
    return [out for done in pool.map(lambda part: [work(item) for item in part], slices) for out in done]
