"""The DuckDB look-through equals the domain's, digit for digit, on random nested funds.

Random compositions mix funds of funds, cycles, funds listed without a composition,
constituents keyed by name, missing or empty attributes and weights that sum below
(or above) one. The domain multiplies at 40 significant digits, the SQL rounds each
step to its scale (``prism.analytics.look_through``): both are quantized to
:data:`PLACES` before comparing, and the unquantized difference is checked against
the SQL's error bound (half a unit in its last place per walked row), so a real
divergence cannot hide behind the quantization.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prism.analytics.look_through import (
    DIMENSIONS,
    MAX_DEPTH,
    group_exposure_sql,
    held_table,
    overlap_sql,
    parts_table,
    walk_scale,
    walk_sql,
)
from prism.domain.exposure import UNRESOLVED, Constituent, Dimension, Security, group_exposure, look_through, overlap

PLACES = Decimal("1e-8")
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


def _quantized(values: dict[str, Decimal]) -> dict[str, Decimal]:
    rounded = {label: value.quantize(PLACES) for label, value in values.items()}
    return {label: value for label, value in rounded.items() if value}


def _walked_rows(cursor: duckdb.DuckDBPyConnection, scale: int, depth: int) -> int:
    (count,) = cursor.execute(
        f"WITH RECURSIVE {walk_sql(scale, depth)} SELECT (SELECT count(*) FROM visits) + (SELECT count(*) FROM leaves)"
    ).fetchone() or (0,)
    return int(count)


@settings(max_examples=300, deadline=None)
@given(held=holdings, funds=compositions, by=st.sampled_from(DIMENSIONS), depth=st.integers(1, MAX_DEPTH))
def test_sql_look_through_groups_like_the_domain(
    duck: duckdb.DuckDBPyConnection,
    held: list[tuple[Security, Decimal]],
    funds: dict[str, list[Constituent]],
    by: Dimension,
    depth: int,
) -> None:
    expected = group_exposure(look_through(held, funds, max_depth=depth), by)
    cursor = duck.cursor()
    try:
        cursor.register("held", held_table(held))
        cursor.register("parts", parts_table(funds))
        found = group_exposure_sql(cursor, by, max_depth=depth)
        bound = _walked_rows(cursor, found.scale, depth) * Decimal(1).scaleb(-found.scale)
    finally:
        cursor.close()
    got = {group.label: group.value for group in found.groups}
    if found.unresolved:
        got[UNRESOLVED] = found.unresolved
    assert _quantized(got) == _quantized(expected)
    for label in got.keys() | expected.keys():
        assert abs(got.get(label, Decimal(0)) - expected.get(label, Decimal(0))) <= bound, label


@settings(max_examples=200, deadline=None)
@given(funds=compositions)
def test_sql_overlap_is_the_domain_overlap(
    duck: duckdb.DuckDBPyConnection, funds: dict[str, list[Constituent]]
) -> None:
    held = sorted(funds)
    cursor = duck.cursor()
    try:
        cursor.register("held", held_table([(Security(fund), Decimal(1)) for fund in held]))
        cursor.register("parts", parts_table(funds))
        scale = walk_scale(cursor)
        shares = {(held[a], held[b]): share for a, b, share in cursor.execute(overlap_sql(scale)).fetchall()}
    finally:
        cursor.close()
    for a, first in enumerate(held):
        for second in held[a + 1 :]:
            expected = overlap(first, second, funds)
            got = shares.get((first, second), Decimal(0))
            assert got.quantize(PLACES) == expected.quantize(PLACES), (first, second)
            assert abs(got - expected) <= Decimal("1e-20")


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
    cursor = duck.cursor()
    try:
        cursor.register("held", held_table(held))
        cursor.register("parts", parts_table(funds))
        found = {g.label: g.value for g in group_exposure_sql(cursor, "country").groups}
    finally:
        cursor.close()
    assert found == {"US": Decimal(60), "country unknown": Decimal(50)}
    assert found == dict(group_exposure(look_through(held, funds), "country"))
