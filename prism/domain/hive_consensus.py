"""The hive's consensus rules, without I/O (docs/hive.md, "Consensus").

* Every claim is one contributor's (a per-epoch pseudonym's) latest word on one field;
  the store keeps one claim per (subject, field, pseudonym), so a contributor who
  repeats itself counts once.
* A value wins by the number of **distinct** contributors behind it; ties go to the
  most recently supported value, then to the smallest value (so every replica agrees).
* A stub never overwrites an active record: while any active claim exists for a
  field, stub claims are not counted.
* Confidence is the winner's share of the distinct contributors who said anything,
  or for claims that carry their own confidence (aliases), the largest claimed.
* A fund's composition is chosen among its newest ``as_of`` by distinct contributors
  behind identical holdings; a composition older than 30 days is stale.
* Weights are fractions 0..1 in storage; percentages (the old client's habit) are
  recognised by their sum and scaled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from prism.errors import ValidationError

__all__ = [
    "STALE_AFTER",
    "Claim",
    "CompositionClaim",
    "CompositionChoice",
    "Decision",
    "choose_composition",
    "decide",
    "is_stale",
    "share",
    "weights_as_fractions",
]

#: A composition older than this is stale: shown, flagged, and replaced by any fresher one.
STALE_AFTER = dt.timedelta(days=30)
#: Weights of one composition must add up to this range (as fractions), after scaling.
WEIGHT_SUM_RANGE = (Decimal("0.9"), Decimal("1.05"))
_CONFIDENCE = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class Claim:
    """What one contributor said about one field."""

    value: str | None
    pseudonym: str
    status: str = "active"  # active | stub
    submitted_on: dt.date = dt.date.min
    confidence: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The consensus of one field: its value, confidence, and who backs it."""

    value: str
    confidence: Decimal
    contributors: int  # distinct contributors behind ``value``
    status: str  # active when an active claim backs it


def share(part: int, whole: int) -> Decimal:
    """``part / whole`` as a confidence with four decimals."""
    if whole <= 0:
        return Decimal(0)
    return (Decimal(part) / Decimal(whole)).quantize(_CONFIDENCE)


def decide(claims: Iterable[Claim]) -> Decision | None:
    """The winning value of one field, or None when nobody gave one."""
    given = [claim for claim in claims if claim.value is not None]
    active = [claim for claim in given if claim.status == "active"]
    counted = active or given
    if not counted:
        return None
    backers: dict[str, set[str]] = {}
    latest: dict[str, dt.date] = {}
    claimed: dict[str, Decimal] = {}
    for claim in counted:
        value = claim.value
        assert value is not None
        backers.setdefault(value, set()).add(claim.pseudonym)
        latest[value] = max(latest.get(value, dt.date.min), claim.submitted_on)
        if claim.confidence is not None:
            claimed[value] = max(claimed.get(value, Decimal(0)), claim.confidence)
    everyone = {claim.pseudonym for claim in counted}
    # Most backers, then the most recently backed, then the smallest value: deterministic.
    winner = min(backers, key=lambda v: (-len(backers[v]), -latest[v].toordinal(), v))
    confidence = claimed.get(winner, share(len(backers[winner]), len(everyone)))
    return Decision(winner, confidence, len(backers[winner]), "active" if active else "stub")


@dataclass(frozen=True, slots=True)
class CompositionClaim:
    """One contributor's composition of one fund: its day and a digest of its rows."""

    pseudonym: str
    as_of: dt.date
    digest: str
    submitted_on: dt.date = dt.date.min


@dataclass(frozen=True, slots=True)
class CompositionChoice:
    """The composition the hive serves for a fund."""

    digest: str
    as_of: dt.date
    contributors: int
    confidence: Decimal


def choose_composition(claims: Sequence[CompositionClaim]) -> CompositionChoice | None:
    """The newest composition with the most distinct contributors behind identical rows."""
    if not claims:
        return None
    newest = max(claim.as_of for claim in claims)
    current = [claim for claim in claims if claim.as_of == newest]
    backers: dict[str, set[str]] = {}
    latest: dict[str, dt.date] = {}
    for claim in current:
        backers.setdefault(claim.digest, set()).add(claim.pseudonym)
        latest[claim.digest] = max(latest.get(claim.digest, dt.date.min), claim.submitted_on)
    winner = min(backers, key=lambda d: (-len(backers[d]), -latest[d].toordinal(), d))
    everyone = {claim.pseudonym for claim in current}
    return CompositionChoice(winner, newest, len(backers[winner]), share(len(backers[winner]), len(everyone)))


def is_stale(as_of: dt.date, today: dt.date) -> bool:
    """True when a composition dated ``as_of`` is older than :data:`STALE_AFTER`."""
    return today - as_of > STALE_AFTER


def weights_as_fractions(weights: Sequence[Decimal], *, field: str = "holdings") -> list[Decimal]:
    """The weights as fractions 0..1: percentages (a sum above 1.5) are divided by 100.

    Raises :class:`ValidationError` naming ``field`` when a weight is negative or the
    fractions do not add up to about one (90% to 105%: a fund's published list may be
    rounded or leave out a cash remainder, but not half the fund).
    """
    for index, weight in enumerate(weights):
        if weight < 0:
            raise ValidationError("weights must not be negative", field=f"{field}[{index}].weight")
    total = sum(weights, Decimal(0))
    scaled = [weight / 100 for weight in weights] if total > Decimal("1.5") else list(weights)
    fraction_total = sum(scaled, Decimal(0))
    low, high = WEIGHT_SUM_RANGE
    if not low <= fraction_total <= high:
        raise ValidationError(f"weights add up to {fraction_total:%} of the fund; expected about 100%", field=field)
    for index, weight in enumerate(scaled):
        if weight > 1:
            raise ValidationError("a weight is more than the whole fund", field=f"{field}[{index}].weight")
    return scaled
