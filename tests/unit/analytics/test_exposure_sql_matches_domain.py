"""Flattened compositions in DuckDB give the domain's look-through, to 8 places, on random nested funds.

Random compositions mix funds of funds, cycles, funds listed without a composition,
constituents keyed by name, missing or empty attributes and weights that sum below
(or above) one. The domain multiplies at 40 significant digits; the fast path
flattens each fund once (:func:`prism.analytics.flattening.flatten`), keeps the
flattened weights to ``WEIGHT_PLACES`` places in DuckDB and multiplies them exactly
by the holdings' values. Both are quantized to :data:`PLACES` before comparing, and
the unquantized difference is checked against the fast path's error bound (half a
unit in the weights' last place, times the value, per flattened row), so a real
divergence cannot hide behind the quantization.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.analytics.flattening import FlatFund, Listing, Part, flatten
from prism.analytics.look_through import (
    DIMENSIONS,
    MAX_DEPTH,
    VALUE_SCALE,
    WEIGHT_PLACES,
    FlatTables,
    Holding,
    drop_flat,
    group_exposure_sql,
    install_flat,
    overlap_shares,
)
from prism.domain.exposure import UNRESOLVED, Constituent, Dimension, Security, group_exposure, look_through, overlap

PLACES = Decimal("1e-8")
HALF_UNIT = Decimal(1).scaleb(-WEIGHT_PLACES) / 2
FUNDS = [f"LU000000000{n}" for n in range(6)]  # at most five get a composition: one stays a plain fund
STOCKS = [f"US000000000{n}" for n in range(6)]
NAMES = ["Cash", "Futures", "Unlisted bond"]  # constituents without an ISIN are keyed by name
attribute = st.sampled_from([None, "", "A", "B", "C"])
weight = st.decimals(min_value=0, max_value=Decimal("0.6"), places=12, allow_nan=False, allow_infinity=False)
value = st.decimals(min_value=-1000, max_value=10**6, places=10, allow_nan=False, allow_infinity=False)


@st.composite
def securities(draw: st.DrawFn) -> Security:
    return Security(
        draw(st.sampled_from(FUNDS + STOCKS + NAMES)),
        country=draw(attribute),
        sector=draw(attribute),
        currency=draw(attribute),
        asset_class=draw(attribute),
    )


compositions = st.dictionaries(
    st.sampled_from(FUNDS[:5]),
    st.lists(st.builds(Constituent, securities(), weight), min_size=1, max_size=6),
    max_size=5,
)
holdings = st.lists(st.tuples(securities(), value), min_size=1, max_size=6)


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def _listing(security: Security) -> Listing:
    return Listing(security.key, None, security.country, security.sector, security.currency, security.asset_class)


def _parts(funds: Mapping[str, Sequence[Constituent]]) -> dict[str, list[Part]]:
    return {fund: [Part(_listing(c.security), c.weight) for c in parts] for fund, parts in funds.items()}


def _holdings(held: Sequence[tuple[Security, Decimal]]) -> list[Holding]:
    return [Holding(_listing(security), amount) for security, amount in held]


def _quantized(values: dict[str, Decimal]) -> dict[str, Decimal]:
    rounded = {label: value.quantize(PLACES) for label, value in values.items()}
    return {label: value for label, value in rounded.items() if value}


def _bound(held: Sequence[tuple[Security, Decimal]], flat: Mapping[str, FlatFund]) -> Decimal:
    """The most the fast path can differ from the domain: each flattened weight is off by
    at most half a unit in its last place, and is multiplied by a holding's value."""
    rows = sum(abs(amount) * len(flat[s.key].rows) for s, amount in held if s.key in flat)
    return rows * HALF_UNIT + Decimal("1e-30")  # and the domain's own 40-digit rounding


@contextmanager
def _installed(duck: duckdb.DuckDBPyConnection, flat: Mapping[str, FlatFund]) -> Iterator[FlatTables]:
    tables = install_flat(duck, flat)
    try:
        yield tables
    finally:
        drop_flat(duck, tables)


@settings(max_examples=300, deadline=None)
@given(held=holdings, funds=compositions, by=st.sampled_from(DIMENSIONS), depth=st.integers(1, MAX_DEPTH))
def test_flattened_look_through_groups_like_the_domain(
    duck: duckdb.DuckDBPyConnection,
    held: list[tuple[Security, Decimal]],
    funds: dict[str, list[Constituent]],
    by: Dimension,
    depth: int,
) -> None:
    expected = group_exposure(look_through(held, funds, max_depth=depth), by)
    flat = flatten(_parts(funds), max_depth=depth)
    with _installed(duck, flat) as tables:
        cursor = duck.cursor()
        try:
            found = group_exposure_sql(cursor, tables, _holdings(held), by)
        finally:
            cursor.close()
    assert found.scale == VALUE_SCALE  # values this size enter unrounded
    got = {group.label: group.value for group in found.groups}
    if found.unresolved:
        got[UNRESOLVED] = found.unresolved
    assert _quantized(got) == _quantized(expected)
    bound = _bound(held, flat)
    for label in got.keys() | expected.keys():
        assert abs(got.get(label, Decimal(0)) - expected.get(label, Decimal(0))) <= bound, label


@settings(max_examples=200, deadline=None)
@given(funds=compositions, depth=st.integers(0, MAX_DEPTH))
def test_a_flattened_fund_is_the_domains_walk_of_one_unit(funds: dict[str, list[Constituent]], depth: int) -> None:
    flat = flatten(_parts(funds), max_depth=depth)
    for fund in funds:
        walked = look_through([(Security(fund), Decimal(1))], funds, max_depth=depth)
        expected = {e.security.key if e.security else None: e.value for e in walked}
        got: dict[str | None, Decimal] = {listing.key: w for listing, w in flat[fund].rows if w}
        if flat[fund].unresolved:
            got[None] = flat[fund].unresolved
        assert got.keys() == expected.keys()
        for key, amount in got.items():
            assert abs(amount - expected[key]) <= Decimal("1e-30"), key


@settings(max_examples=200, deadline=None)
@given(funds=compositions)
def test_flattened_overlap_is_the_domain_overlap(
    duck: duckdb.DuckDBPyConnection, funds: dict[str, list[Constituent]]
) -> None:
    held = sorted(funds)
    flat = flatten(_parts(funds), max_depth=MAX_DEPTH)
    with _installed(duck, flat) as tables:
        cursor = duck.cursor()
        try:
            shares = {(held[a], held[b]): share for a, b, share in overlap_shares(cursor, tables, held)}
        finally:
            cursor.close()
    for a, first in enumerate(held):
        for second in held[a + 1 :]:
            expected = overlap(first, second, funds)
            got = shares.get((first, second), Decimal(0))
            assert got.quantize(PLACES) == expected.quantize(PLACES), (first, second)
            rows = len(flat[first].rows) + len(flat[second].rows)
            assert abs(got - expected) <= rows * HALF_UNIT + Decimal("1e-30")


def test_first_occurrence_in_depth_first_order_gives_the_attributes(duck: duckdb.DuckDBPyConnection) -> None:
    # The stock is met first inside the fund (root 0, position 1), later directly (root 1).
    stock_in_fund, stock_direct = Security("US0000000001", country="US"), Security("US0000000001", country="IE")
    funds = {
        "LU0000000001": [
            Constituent(Security("US0000000002"), Decimal("0.5")),
            Constituent(stock_in_fund, Decimal("0.5")),
        ]
    }
    held = [(Security("LU0000000001"), Decimal(100)), (stock_direct, Decimal(10))]
    with _installed(duck, flatten(_parts(funds), max_depth=MAX_DEPTH)) as tables:
        cursor = duck.cursor()
        try:
            found = {g.label: g.value for g in group_exposure_sql(cursor, tables, _holdings(held), "country").groups}
            # Held the other way round, the direct listing comes first.
            again = group_exposure_sql(cursor, tables, _holdings(held[::-1]), "country").groups
        finally:
            cursor.close()
    assert found == {"US": Decimal(60), "country unknown": Decimal(50)}
    assert found == dict(group_exposure(look_through(held, funds), "country"))
    assert {g.label: g.value for g in again} == {"IE": Decimal(60), "country unknown": Decimal(50)}


def test_values_too_large_for_full_places_enter_with_fewer(duck: duckdb.DuckDBPyConnection) -> None:
    funds = {"LU0000000001": [Constituent(Security("US0000000001"), Decimal("0.333333333333"))]}
    held = [(Security("LU0000000001"), Decimal("123456789012.0123456789"))]
    expected = group_exposure(look_through(held, funds), "security")
    with _installed(duck, flatten(_parts(funds), max_depth=MAX_DEPTH)) as tables:
        cursor = duck.cursor()
        try:
            found = group_exposure_sql(cursor, tables, _holdings(held), "security")
        finally:
            cursor.close()
    assert found.scale < VALUE_SCALE
    assert [g.label for g in found.groups] == ["US0000000001"]
    assert abs(found.groups[0].value - expected["US0000000001"]) <= Decimal(1).scaleb(-found.scale)
    assert abs(found.unresolved - expected[UNRESOLVED]) <= Decimal("1e-20")


def test_a_fund_met_too_deep_is_not_reused_from_its_own_flattening() -> None:
    # B alone reaches S2 within two levels; met inside A, only one level is left.
    s1, s2 = Security("US0000000001"), Security("US0000000002")
    funds = {
        "LU0000000001": [Constituent(Security("LU0000000002"), Decimal("0.5")), Constituent(s1, Decimal("0.5"))],
        "LU0000000002": [Constituent(Security("LU0000000003"), Decimal(1))],
        "LU0000000003": [Constituent(s2, Decimal(1))],
    }
    flat = flatten(_parts(funds), max_depth=2)
    assert [(listing.key, w) for listing, w in flat["LU0000000002"].rows] == [("US0000000002", Decimal(1))]
    assert [(listing.key, w) for listing, w in flat["LU0000000001"].rows] == [("US0000000001", Decimal("0.5"))]
    assert flat["LU0000000001"].unresolved == Decimal("0.5")
    walked = look_through([(Security("LU0000000001"), Decimal(1))], funds, max_depth=2)
    assert {e.security.key if e.security else None: e.value for e in walked} == {
        "US0000000001": Decimal("0.5"),
        None: Decimal("0.5"),
    }
