"""Every fund's full look-through, computed once per set of compositions (pure; no I/O).

:func:`prism.domain.exposure.look_through` is linear in a holding's value: a fund held
for ``v`` contributes ``v * W`` to each security it reaches, where ``W`` is the sum
over the walk's paths of the products of weights, and ``v * U`` to the unresolved
value. :func:`flatten` computes ``W`` per (fund, security) and ``U`` per fund by the
domain's own walk, so a request only multiplies and sums. The rules are the
domain's: a key with a composition is a fund and is expanded, any other key is a
security; a fund met again on its own path or at depth zero is unresolved, and so
is what its weights leave uncovered; a security's attributes are those of its first
occurrence in depth-first order (kept per fund, with that order, so a portfolio's
first occurrence can be found across its funds). Arithmetic is the domain's
40-digit decimal.

A fund whose reach has no cycle and is no deeper than the depth left is expanded the
same way wherever it is met, so its flattening is computed once and reused (scaled)
inside the funds that hold it: the walk then costs the size of the result, not the
number of paths.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

__all__ = ["FlatFund", "Listing", "Part", "flatten", "fund_heights"]

_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_ZERO = Decimal(0)
_ONE = Decimal(1)


class Listing(NamedTuple):
    """A security as one line lists it: its key (ISIN, or name) and attributes."""

    key: str
    name: str | None = None
    country: str | None = None
    sector: str | None = None
    currency: str | None = None
    asset_class: str | None = None


class Part(NamedTuple):
    """One line of a fund's composition."""

    listing: Listing
    weight: Decimal  # fraction of the fund


@dataclass(frozen=True, slots=True)
class FlatFund:
    """A fund held for one unit of value, looked through.

    ``rows`` has one entry per security reached, in order of first occurrence, with
    the listing of that first occurrence and the exact summed weight (zero weights
    kept: a zero-weight line still decides a security's attributes). ``reach`` is
    the fund and every fund with a composition it leads to, however deep.
    """

    rows: tuple[tuple[Listing, Decimal], ...]
    unresolved: Decimal
    reach: frozenset[str]


class _Walk:
    """One fund's walk in progress: weights by security key, and the unresolved weight."""

    __slots__ = ("listings", "unresolved", "weights")

    def __init__(self) -> None:
        self.listings: dict[str, Listing] = {}  # insertion order is first-occurrence order
        self.weights: dict[str, Decimal] = {}
        self.unresolved = _ZERO

    def add(self, listing: Listing, weight: Decimal) -> None:
        key = listing.key
        found = self.weights.get(key)
        if found is None:
            self.listings[key] = listing
            self.weights[key] = weight
        else:
            self.weights[key] = _CONTEXT.add(found, weight)


def fund_heights(compositions: Mapping[str, Sequence[Part]]) -> dict[str, int | None]:
    """Per fund, the most funds a walk from it passes through (itself included).

    None when a cycle is reachable from the fund: its walk depends on the path.
    """
    heights: dict[str, int | None] = {}
    open_funds: set[str] = set()

    def visit(fund: str) -> int | None:
        if fund in heights:
            return heights[fund]
        if fund in open_funds:
            return None
        open_funds.add(fund)
        height: int | None = 1
        for part in compositions[fund]:
            if part.listing.key in compositions:
                below = visit(part.listing.key)
                height = None if below is None or height is None else max(height, below + 1)
        open_funds.discard(fund)
        heights[fund] = height
        return height

    for fund in compositions:
        visit(fund)
    return heights


def _reach(compositions: Mapping[str, Sequence[Part]], fund: str) -> frozenset[str]:
    found = {fund}
    todo = [fund]
    while todo:
        for part in compositions[todo.pop()]:
            key = part.listing.key
            if key in compositions and key not in found:
                found.add(key)
                todo.append(key)
    return frozenset(found)


def flatten(compositions: Mapping[str, Sequence[Part]], *, max_depth: int) -> dict[str, FlatFund]:
    """Every fund of ``compositions`` looked through as the domain would at the top level."""
    heights = fund_heights(compositions)
    done: dict[str, FlatFund] = {}

    def expand(listing: Listing, weight: Decimal, path: tuple[str, ...], depth: int, walk: _Walk) -> None:
        key = listing.key
        parts = compositions.get(key)
        if parts is None:
            walk.add(listing, weight)
            return
        if key in path or depth == 0:
            walk.unresolved = _CONTEXT.add(walk.unresolved, weight)  # a cycle or too deep
            return
        height, known = heights[key], done.get(key)
        if known is not None and height is not None and height <= depth:
            for found, share in known.rows:
                walk.add(found, _CONTEXT.multiply(weight, share))
            walk.unresolved = _CONTEXT.add(walk.unresolved, _CONTEXT.multiply(weight, known.unresolved))
            return
        covered = _ZERO
        inner = (*path, key)
        for part in parts:
            covered = _CONTEXT.add(covered, part.weight)
            expand(part.listing, _CONTEXT.multiply(weight, part.weight), inner, depth - 1, walk)
        rest = _CONTEXT.multiply(weight, _CONTEXT.subtract(_ONE, covered))
        walk.unresolved = _CONTEXT.add(walk.unresolved, rest)

    # Funds without a cycle go first, shallowest first: a fund reuses what it holds.
    order = sorted(compositions, key=lambda fund: (heights[fund] is None, heights[fund] or 0, fund))
    for fund in order:
        walk = _Walk()
        expand(Listing(fund), _ONE, (), max_depth, walk)
        rows = tuple((listing, walk.weights[key]) for key, listing in walk.listings.items())
        done[fund] = FlatFund(rows, walk.unresolved, _reach(compositions, fund))
    return {fund: done[fund] for fund in compositions}
