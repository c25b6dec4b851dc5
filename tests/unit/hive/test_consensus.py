"""The hive's consensus rules, without a database."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prism.domain.hive_consensus import (
    Claim,
    CompositionClaim,
    choose_composition,
    decide,
    is_stale,
    weights_as_fractions,
)
from prism.errors import ValidationError

DAY = dt.date(2025, 12, 1)


def test_the_value_with_most_distinct_contributors_wins() -> None:
    claims = [Claim("Apple", "a"), Claim("Apple Inc.", "b"), Claim("Apple Inc.", "c")]
    decision = decide(claims)
    assert decision is not None
    assert (decision.value, decision.contributors, decision.confidence) == ("Apple Inc.", 2, Decimal("0.6667"))


def test_one_contributor_repeating_itself_counts_once() -> None:
    claims = [Claim("Spam", "a"), Claim("Spam", "a"), Claim("Spam", "a"), Claim("Real", "b"), Claim("Real", "c")]
    decision = decide(claims)
    assert decision is not None
    assert (decision.value, decision.contributors) == ("Real", 2)


def test_a_stub_never_outvotes_an_active_claim() -> None:
    claims = [Claim("Real", "a", "active")] + [Claim("Stub", who, "stub") for who in "bcdef"]
    decision = decide(claims)
    assert decision is not None
    assert (decision.value, decision.status, decision.confidence) == ("Real", "active", Decimal(1))
    only_stubs = decide([Claim("Stub", "b", "stub")])
    assert only_stubs is not None
    assert only_stubs.status == "stub"


def test_ties_go_to_the_most_recent_then_the_smallest_value() -> None:
    recent = decide([Claim("Old", "a", submitted_on=DAY), Claim("New", "b", submitted_on=DAY + dt.timedelta(1))])
    assert recent is not None
    assert recent.value == "New"
    same_day = decide([Claim("B", "a", submitted_on=DAY), Claim("A", "b", submitted_on=DAY)])
    assert same_day is not None
    assert same_day.value == "A"


def test_nobody_saying_anything_decides_nothing() -> None:
    assert decide([]) is None
    assert decide([Claim(None, "a")]) is None


def test_claimed_confidence_takes_the_maximum() -> None:
    decision = decide([Claim("name", "a", confidence=Decimal("0.8")), Claim("name", "b", confidence=Decimal("0.95"))])
    assert decision is not None
    assert decision.confidence == Decimal("0.95")


def test_the_newest_composition_wins_then_its_most_backed_rows() -> None:
    later = DAY + dt.timedelta(days=1)
    claims = [
        CompositionClaim("a", DAY, "old"),
        CompositionClaim("b", DAY, "old"),
        CompositionClaim("c", later, "x"),
        CompositionClaim("d", later, "y"),
        CompositionClaim("e", later, "y"),
    ]
    choice = choose_composition(claims)
    assert choice is not None
    assert (choice.digest, choice.as_of, choice.contributors, choice.confidence) == ("y", later, 2, Decimal("0.6667"))
    assert choose_composition([]) is None


def test_compositions_go_stale_after_thirty_days() -> None:
    assert not is_stale(DAY, DAY + dt.timedelta(days=30))
    assert is_stale(DAY, DAY + dt.timedelta(days=31))


def test_percentages_become_fractions_and_fractions_stay() -> None:
    assert weights_as_fractions([Decimal(60), Decimal(40)]) == [Decimal("0.6"), Decimal("0.4")]
    assert weights_as_fractions([Decimal("0.6"), Decimal("0.4")]) == [Decimal("0.6"), Decimal("0.4")]


@pytest.mark.parametrize(
    ("weights", "field"),
    [
        (["0.3", "0.3"], "holdings"),  # 60% of a fund is not a composition
        (["60", "-1", "41"], "holdings[1].weight"),
        (["120"], "holdings"),
    ],
)
def test_weights_far_from_the_whole_fund_are_refused(weights: list[str], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        weights_as_fractions([Decimal(w) for w in weights])
    assert refused.value.field == field


@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from("pqrstu"), st.sampled_from(["active", "stub"])),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
def test_the_decision_does_not_depend_on_the_order_or_repeats_of_claims(
    said: list[tuple[str, str, str]], shuffler: random.Random
) -> None:
    claims = [Claim(value, who, status) for value, who, status in said]
    shuffled = [*claims, *claims[: len(claims) // 2]]  # repeats of a contributor's own claim
    shuffler.shuffle(shuffled)
    assert decide(shuffled) == decide(claims)
