"""Look-through exposure as DuckDB SQL: :func:`prism.domain.exposure.look_through` at scale.

The domain function is the reference; this is the same walk as one recursive CTE, so
a portfolio of a thousand assets and fifty funds of thousands of constituents is
expanded in milliseconds instead of seconds. Every rule is the domain's:

* a key that has a composition is a fund and is expanded; any other key (a fund
  without a composition too) is a security and keeps its value;
* a fund met again on its own path (a cycle) or at depth zero is *unresolved*, and so
  is what its weights leave uncovered (``value * (1 - sum(weights))``);
* a security's attributes are those of its first occurrence in depth-first order
  (holdings in order, constituents in order), like the domain's ``setdefault``;
* securities whose value sums to zero are left out.

Arithmetic is DECIMAL, never floating point. The domain multiplies at 40 significant
digits; DuckDB's DECIMAL holds 38, and a product of a value with ``s`` places and a
12-place weight must fit them, so each step is rounded to ``s`` places, chosen per
request as large as the biggest value allows (:func:`value_scale`). The two agree to
well below a cent: each rounding is at most half a unit in the ``s``-th place and
weights never enlarge it, so a sum over ``n`` walked rows is off by at most ``n``
such half-units (``tests/unit/analytics`` checks both the bound and the digits).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Final, NamedTuple, get_args

import duckdb
import pyarrow as pa

from prism.domain.exposure import Constituent, Dimension, Security

__all__ = [
    "DIMENSIONS",
    "HELD_SCHEMA",
    "MAX_DEPTH",
    "PARTS_SCHEMA",
    "VALUE_SCALE",
    "WEIGHT_SCALE",
    "Group",
    "Grouped",
    "exposure_sql",
    "group_exposure_sql",
    "held_table",
    "parts_table",
    "prepare_walk",
    "shared_sql",
    "overlap_sql",
    "value_scale",
    "walk_scale",
    "walk_sql",
]

#: How deep funds of funds are followed (the domain's default).
MAX_DEPTH: Final = 8
#: Places of a constituent's weight (the lake's ``etf_holdings.weight``).
WEIGHT_SCALE: Final = 12
#: Places of a holding's value as it enters the walk.
VALUE_SCALE: Final = 10
_MAX_SCALE = 24
_DIGITS = 38

#: What exposure can be grouped by.
DIMENSIONS: Final[tuple[Dimension, ...]] = get_args(Dimension)
_ATTRIBUTES = ("name", "country", "sector", "currency", "asset_class")

#: The fund compositions the walk reads, registered as ``parts``.
PARTS_SCHEMA = pa.schema(
    [
        ("fund", pa.string()),
        ("position", pa.int32()),  # order within the fund: first occurrences decide attributes
        ("key", pa.string()),
        *((name, pa.string()) for name in _ATTRIBUTES),
        ("weight", pa.decimal128(38, WEIGHT_SCALE)),
    ]
)
#: The holdings the walk starts from, registered as ``held`` (``root`` is their order).
HELD_SCHEMA = pa.schema(
    [
        ("root", pa.int32()),
        ("key", pa.string()),
        *((name, pa.string()) for name in _ATTRIBUTES),
        ("value", pa.decimal128(38, VALUE_SCALE)),
    ]
)


def value_scale(largest: Decimal, growth: Decimal = Decimal(1), *, max_depth: int = MAX_DEPTH) -> int:
    """The places the walk can keep when no value exceeds ``largest``.

    ``growth`` is the largest factor one step can multiply a value by (a weight or an
    uncovered share above one only comes from a broken composition; normally 1).
    A product of a value with ``s`` places and a weight must fit 38 digits.
    """
    bound = abs(largest) * max(growth, Decimal(1)) ** max_depth
    integer_digits = max(bound.adjusted() + 1, 1)
    scale = min(_MAX_SCALE, _DIGITS - WEIGHT_SCALE - integer_digits - 1)
    if scale < VALUE_SCALE:
        raise OverflowError(f"values up to {largest} are too large to look through exactly")
    return scale


def prepare_walk(cursor: duckdb.DuckDBPyConnection) -> None:
    """Split the cursor's ``parts`` once: ``funds`` (with their covered weight), and the
    constituents that are funds (``fund_parts``) or securities (``leaf_parts``).

    Temporary tables of the cursor: computed once per request, not once per CTE use.
    """
    cursor.execute(
        """CREATE OR REPLACE TEMP TABLE funds AS SELECT fund, sum(weight) AS covered FROM parts GROUP BY fund;
        CREATE OR REPLACE TEMP TABLE fund_parts AS SELECT * FROM parts WHERE key IN (SELECT fund FROM funds);
        CREATE OR REPLACE TEMP TABLE leaf_parts AS SELECT * FROM parts WHERE key NOT IN (SELECT fund FROM funds);"""
    )


def walk_sql(scale: int, max_depth: int = MAX_DEPTH) -> str:
    """The CTEs ``visits``, ``leaves`` and ``unresolved`` of the domain's ``_expand``.

    ``visits`` is every fund met (a recursive walk over the few fund-to-fund lines),
    with its value rounded to ``scale`` places, its path of funds (for cycles), its
    remaining depth and ``ord``, the positions along its path, whose order is
    depth-first order. ``leaves`` joins each expanded visit with its securities once:
    their values are exact products (``scale + 12`` places), never rounded, since a
    rounding (a 128-bit division) per constituent would cost most of the time.
    """
    attributes = (
        "{'name': %s.name, 'country': %s.country, 'sector': %s.sector, 'currency': %s.currency, "
        "'asset_class': %s.asset_class}"
    )
    exact = scale + WEIGHT_SCALE
    return f"""
    visits AS (
        SELECT h.root, h.key, CAST(h.value AS DECIMAL(38, {scale})) AS value,
               CAST([] AS VARCHAR[]) AS path, {int(max_depth)} AS depth, [h.root] AS ord
        FROM held h WHERE h.key IN (SELECT fund FROM funds)
        UNION ALL
        SELECT w.root, p.key, CAST(w.value * p.weight AS DECIMAL(38, {scale})),
               list_append(w.path, w.key), w.depth - 1, list_append(w.ord, p.position)
        FROM visits w JOIN fund_parts p ON p.fund = w.key
        WHERE w.depth > 0 AND NOT list_contains(w.path, w.key)
    ),
    expanded AS (
        SELECT v.*, f.covered FROM visits v JOIN funds f ON f.fund = v.key
        WHERE v.depth > 0 AND NOT list_contains(v.path, v.key)
    ),
    leaves AS (
        SELECT h.root, h.key, CAST(h.value AS DECIMAL(38, {exact})) AS value, [h.root] AS ord,
               {attributes % (("h",) * 5)} AS attributes
        FROM held h WHERE h.key NOT IN (SELECT fund FROM funds)
        UNION ALL
        SELECT e.root, p.key, e.value * p.weight, list_append(e.ord, p.position), {attributes % (("p",) * 5)}
        FROM expanded e JOIN leaf_parts p ON p.fund = e.key
    ),
    unresolved AS (
        SELECT root, CAST(value AS DECIMAL(38, {exact})) AS value FROM visits
        WHERE depth = 0 OR list_contains(path, key)
        UNION ALL
        SELECT root, value * (1 - covered) FROM expanded
    )"""


def exposure_sql(by: Dimension, scale: int, max_depth: int = MAX_DEPTH) -> str:
    """Exposure grouped ``by`` one dimension: rows of ``label``, ``name``, ``value``.

    Like the domain's ``group_exposure`` over ``look_through``: securities of value
    zero are dropped before grouping, a missing (or empty) attribute is "<by>
    unknown", and the unresolved value is one row with ``label`` NULL (absent when
    zero). ``name`` is a security's first-seen name (``by="security"`` only).
    """
    if by not in DIMENSIONS:
        raise ValueError(f"cannot group by {by!r}")
    if by == "security":
        label, name = "key", "attributes.name"
    else:
        label, name = f"coalesce(nullif(attributes.{by}, ''), '{by} unknown')", "NULL"
    return f"""
    WITH RECURSIVE {walk_sql(scale, max_depth)},
    exposures AS (
        SELECT key, sum(value) AS value, arg_min(attributes, ord) AS attributes
        FROM leaves GROUP BY key HAVING sum(value) <> 0
    )
    SELECT {label} AS label, any_value({name}) AS name, sum(value) AS value FROM exposures GROUP BY 1
    UNION ALL
    SELECT NULL, NULL, total FROM (SELECT sum(value) AS total FROM unresolved) WHERE total <> 0
    """


def overlap_sql(scale: int, max_depth: int = MAX_DEPTH) -> str:
    """Per pair of held funds (``root`` order): the share they hold in common.

    ``held`` lists each fund once with value 1, like the domain's ``overlap``; a
    pair's share is the sum over common securities of the smaller weight.
    """
    return f"""
    WITH RECURSIVE {walk_sql(scale, max_depth)},
    weights AS (SELECT root, key, sum(value) AS weight FROM leaves GROUP BY root, key HAVING sum(value) <> 0)
    SELECT a.root AS first, b.root AS second, sum(least(a.weight, b.weight)) AS share
    FROM weights a JOIN weights b ON a.key = b.key AND a.root < b.root
    GROUP BY a.root, b.root
    """


def shared_sql(scale: int, max_depth: int = MAX_DEPTH) -> str:
    """Securities reached from two or more holdings: ``key``, ``name``, ``roots``, ``value``.

    ``value`` is what all of them hold of it together; the ``$limit`` largest come first.
    """
    return f"""
    WITH RECURSIVE {walk_sql(scale, max_depth)},
    per_root AS (
        SELECT root, key, sum(value) AS value, arg_min(attributes, ord) AS attributes
        FROM leaves GROUP BY root, key HAVING sum(value) <> 0
    )
    SELECT key, arg_min(attributes, root).name AS name, list(root ORDER BY root) AS roots, sum(value) AS value
    FROM per_root GROUP BY key HAVING count(*) >= 2
    ORDER BY value DESC, key LIMIT $limit
    """


class Group(NamedTuple):
    """One group of exposure: its label (a security's key), a security's name, its value."""

    label: str
    name: str | None
    value: Decimal


class Grouped(NamedTuple):
    """Exposure grouped by one dimension, as the walk computed it (``scale`` places)."""

    groups: list[Group]
    unresolved: Decimal
    scale: int


def held_table(holdings: Sequence[tuple[Security, Decimal]], names: Mapping[str, str] | None = None) -> pa.Table:
    """The ``held`` relation of ``holdings`` (values with at most :data:`VALUE_SCALE` places)."""
    named = names or {}
    return pa.table(
        {
            "root": pa.array(range(len(holdings)), pa.int32()),
            "key": [security.key for security, _ in holdings],
            "name": [named.get(security.key) for security, _ in holdings],
            **{name: [getattr(s, name) for s, _ in holdings] for name in _ATTRIBUTES[1:]},
            "value": pa.array([value for _, value in holdings], HELD_SCHEMA.field("value").type),
        },
        schema=HELD_SCHEMA,
    )


def parts_table(compositions: Mapping[str, Sequence[Constituent]]) -> pa.Table:
    """The ``parts`` relation of domain compositions (a composition must not be empty)."""
    rows = [(fund, position, part) for fund, parts in compositions.items() for position, part in enumerate(parts)]
    return pa.table(
        {
            "fund": [fund for fund, _, _ in rows],
            "position": pa.array([position for _, position, _ in rows], pa.int32()),
            "key": [part.security.key for _, _, part in rows],
            "name": pa.array([None] * len(rows), pa.string()),
            **{
                name: pa.array([getattr(p.security, name) for _, _, p in rows], pa.string()) for name in _ATTRIBUTES[1:]
            },
            "weight": pa.array([part.weight for _, _, part in rows], PARTS_SCHEMA.field("weight").type),
        },
        schema=PARTS_SCHEMA,
    )


def walk_scale(cursor: duckdb.DuckDBPyConnection, *, max_depth: int = MAX_DEPTH) -> int:
    """Prepare the walk over ``held`` and ``parts`` on ``cursor``; the :func:`value_scale` it can keep."""
    prepare_walk(cursor)
    largest, growth = cursor.execute(
        """SELECT (SELECT coalesce(max(abs(value)), 0) FROM held),
                  (SELECT coalesce(max(greatest(abs(top), abs(1 - covered))), 1)
                   FROM (SELECT max(abs(weight)) AS top, sum(weight) AS covered FROM parts GROUP BY fund))"""
    ).fetchone() or (Decimal(0), Decimal(1))
    return value_scale(Decimal(largest), Decimal(growth), max_depth=max_depth)


def group_exposure_sql(cursor: duckdb.DuckDBPyConnection, by: Dimension, *, max_depth: int = MAX_DEPTH) -> Grouped:
    """Run :func:`exposure_sql` over the ``held`` and ``parts`` relations on ``cursor``."""
    scale = walk_scale(cursor, max_depth=max_depth)
    groups: list[Group] = []
    unresolved = Decimal(0)
    for label, name, value in cursor.execute(exposure_sql(by, scale, max_depth)).fetchall():
        if label is None:
            unresolved = value
        else:
            groups.append(Group(label, name, value))
    return Grouped(groups, unresolved, scale)
