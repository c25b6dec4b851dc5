"""Look-through exposure, worked by hand: funds of funds, unresolved shares, cycles, overlap."""

from __future__ import annotations

from decimal import Decimal

from prism.domain.exposure import UNRESOLVED, Constituent, Security, group_exposure, look_through, overlap

D = Decimal
APPLE = Security("US0378331005", country="US", sector="Technology", currency="USD", asset_class="equity")
SAP = Security("DE0007164600", country="DE", sector="Technology", currency="EUR", asset_class="equity")
BUND = Security("DE0001102580", country="DE", sector="Government", currency="EUR", asset_class="bond")
WORLD, MIXED, LOOP = Security("IE00B4L5Y983"), Security("LU0000000001"), Security("LU0000000002")

COMPOSITIONS = {
    # A world equity fund: 60% Apple, 30% SAP, 10% not listed (cash, say).
    WORLD.key: [Constituent(APPLE, D("0.6")), Constituent(SAP, D("0.3"))],
    # A fund of funds: half the world fund, half a Bund.
    MIXED.key: [Constituent(WORLD, D("0.5")), Constituent(BUND, D("0.5"))],
    # A fund that (wrongly) holds itself.
    LOOP.key: [Constituent(LOOP, D("0.5")), Constituent(SAP, D("0.5"))],
}


def _by_key(holdings: list[tuple[Security, Decimal]]) -> dict[str | None, Decimal]:
    return {(e.security.key if e.security else None): e.value for e in look_through(holdings, COMPOSITIONS)}


def test_a_fund_of_funds_ends_in_securities_with_the_unlisted_share_explicit() -> None:
    # 1,000 in the mixed fund: 500 in the world fund (300 Apple, 150 SAP, 50 unlisted) and 500 Bund.
    assert _by_key([(MIXED, D(1000))]) == {APPLE.key: 300, SAP.key: 150, BUND.key: 500, None: 50}


def test_direct_and_indirect_holdings_of_one_security_add_up() -> None:
    found = _by_key([(WORLD, D(100)), (SAP, D(20))])
    assert found[SAP.key] == 50  # 30 through the fund, 20 directly
    assert sum(found.values()) == 120  # nothing lost


def test_a_cycle_is_unresolved_not_expanded_forever() -> None:
    # 100 in the loop fund: 50 SAP; the 50 it says it holds of itself is unresolved.
    assert _by_key([(LOOP, D(100))]) == {SAP.key: 50, None: 50}


def test_grouping_by_country_sector_and_class() -> None:
    exposures = look_through([(MIXED, D(1000))], COMPOSITIONS)
    assert group_exposure(exposures, "country") == {"DE": 650, "US": 300, UNRESOLVED: 50}
    assert group_exposure(exposures, "asset_class") == {"bond": 500, "equity": 450, UNRESOLVED: 50}
    assert group_exposure(exposures, "sector")["Technology"] == 450


def test_a_security_without_attributes_is_labelled_unknown() -> None:
    exposures = look_through([(Security("XS0000000001"), D(10))], COMPOSITIONS)
    assert group_exposure(exposures, "country") == {"country unknown": 10}


def test_overlap_of_two_funds_counts_each_shared_security_once() -> None:
    # Mixed holds 30% Apple and 15% SAP through the world fund; the world fund 60% and 30%.
    assert overlap(WORLD.key, MIXED.key, COMPOSITIONS) == D("0.45")
    assert overlap(WORLD.key, WORLD.key, COMPOSITIONS) == D("0.9")
