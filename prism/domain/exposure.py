"""Look-through exposure (pure; no I/O): what a portfolio really owns, through its funds.

Each fund's composition lists constituents with their weight (a fraction of the fund)
and attributes. A constituent that is itself a fund with a known composition is
expanded in turn, so a fund of funds ends in securities, never in "unknown". What a
composition does not account for (weights summing below one, a fund with no
composition, a cycle, or depth beyond a limit) is kept as an explicit *unresolved*
share, so every amount of the portfolio's value is shown somewhere.
"""

from __future__ import annotations

import decimal
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Literal, NamedTuple

__all__ = [
    "UNRESOLVED",
    "Constituent",
    "Exposure",
    "Security",
    "group_exposure",
    "look_through",
    "overlap",
]

#: The label of value no composition accounts for.
UNRESOLVED = "unresolved"
_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_ZERO = Decimal(0)
Dimension = Literal["security", "country", "sector", "currency", "asset_class"]


class Security(NamedTuple):
    """What is known of one security: its key (ISIN, or a name when a fund lists none)."""

    key: str
    country: str | None = None
    sector: str | None = None
    currency: str | None = None
    asset_class: str | None = None


class Constituent(NamedTuple):
    """One line of a fund's composition."""

    security: Security
    weight: Decimal  # fraction of the fund, 0..1


class Exposure(NamedTuple):
    """Value held in one security, directly or through funds (``security`` None: unresolved)."""

    security: Security | None
    value: Decimal


def look_through(
    holdings: Sequence[tuple[Security, Decimal]],
    compositions: Mapping[str, Sequence[Constituent]],
    *,
    max_depth: int = 8,
) -> list[Exposure]:
    """The holdings expanded through every known fund composition, merged per security."""
    merged: dict[str | None, Decimal] = defaultdict(lambda: _ZERO)
    known: dict[str, Security] = {}
    for security, value in holdings:
        _expand(security, value, compositions, merged, known, path=(), depth=max_depth)
    return [
        Exposure(known[key] if key is not None else None, _CONTEXT.plus(value))
        for key, value in sorted(merged.items(), key=lambda item: (item[0] is None, -item[1], item[0] or ""))
        if value != 0
    ]


def _expand(
    security: Security,
    value: Decimal,
    compositions: Mapping[str, Sequence[Constituent]],
    merged: dict[str | None, Decimal],
    known: dict[str, Security],
    *,
    path: tuple[str, ...],
    depth: int,
) -> None:
    parts = compositions.get(security.key)
    if parts is None:
        merged[security.key] = _CONTEXT.add(merged[security.key], value)
        known.setdefault(security.key, security)
        return
    if security.key in path or depth == 0:
        merged[None] = _CONTEXT.add(merged[None], value)  # a cycle or too deep: say so, do not guess
        return
    covered = _ZERO
    for part in parts:
        share = _CONTEXT.multiply(value, part.weight)
        covered = _CONTEXT.add(covered, part.weight)
        _expand(part.security, share, compositions, merged, known, path=(*path, security.key), depth=depth - 1)
    rest = _CONTEXT.multiply(value, _CONTEXT.subtract(Decimal(1), covered))
    if rest != 0:
        merged[None] = _CONTEXT.add(merged[None], rest)


def group_exposure(exposures: Sequence[Exposure], by: Dimension) -> dict[str, Decimal]:
    """Exposure summed by one attribute; missing attributes and unresolved value are labelled."""
    grouped: dict[str, Decimal] = defaultdict(lambda: _ZERO)
    for exposure in exposures:
        if exposure.security is None:
            label = UNRESOLVED
        elif by == "security":
            label = exposure.security.key
        else:
            label = getattr(exposure.security, by) or f"{by} unknown"
        grouped[label] = _CONTEXT.add(grouped[label], exposure.value)
    return dict(sorted(grouped.items(), key=lambda item: (item[0] == UNRESOLVED, -item[1], item[0])))


def overlap(first: str, second: str, compositions: Mapping[str, Sequence[Constituent]]) -> Decimal:
    """The share two funds hold in common: the sum over securities of the smaller weight."""

    def weights(fund: str) -> dict[str, Decimal]:
        found = look_through([(Security(fund), Decimal(1))], compositions)
        return {e.security.key: e.value for e in found if e.security is not None}

    a, b = weights(first), weights(second)
    return _CONTEXT.plus(sum((min(a[key], b[key]) for key in a.keys() & b.keys()), _ZERO))
