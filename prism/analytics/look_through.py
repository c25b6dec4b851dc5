"""Look-through exposure in DuckDB over flattened compositions.

:mod:`prism.analytics.flattening` gives every fund's look-through for one unit of
value; :func:`install_flat` stores it in a DuckDB database as two tables (``flat``:
fund, security, first-occurrence order, listing, weight; ``listings``: the distinct
listings), once per set of compositions. A request then puts its holdings in a
temporary table of its own cursor (:func:`load_held`) and multiplies, sums and
groups there: no recursion, no composition read, and only the grouped rows come
back to Python. The result is :func:`prism.domain.exposure.look_through` then
``group_exposure``, with the domain's rules (first occurrence in depth-first order
decides a security's attributes, securities whose value sums to zero are left out,
a missing attribute is "<by> unknown").

Arithmetic is DECIMAL, never floating point. Flattened weights are kept to
:data:`WEIGHT_PLACES` places; a holding's value enters with :data:`VALUE_SCALE`
places, fewer only when the request's total exposure would not otherwise fit 38
digits (:func:`value_scale`). Products are then exact, so a result differs from the
domain's by at most half a unit in the weights' last place times the value, per
flattened row summed (the property test in ``tests/unit/analytics`` checks it).
"""

from __future__ import annotations

import decimal
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, NamedTuple, get_args

import duckdb
import pyarrow as pa

from prism.analytics.flattening import FlatFund, Listing
from prism.domain.exposure import Dimension

__all__ = [
    "DIMENSIONS",
    "MAX_DEPTH",
    "VALUE_SCALE",
    "WEIGHT_PLACES",
    "FlatTables",
    "Group",
    "Grouped",
    "Holding",
    "drop_flat",
    "group_exposure_sql",
    "install_flat",
    "load_held",
    "overlap_shares",
    "shared_securities",
    "value_scale",
]

#: How deep funds of funds are followed (the domain's default).
MAX_DEPTH: Final = 8
#: Places of a flattened weight in DuckDB.
WEIGHT_PLACES: Final = 18
#: Places of a holding's value as it enters (fewer only for values too large to fit).
VALUE_SCALE: Final = 10
#: What exposure can be grouped by.
DIMENSIONS: Final[tuple[Dimension, ...]] = get_args(Dimension)

_DIGITS = 38
_MIN_SCALE = 2
_CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN)
_WEIGHT_UNIT = Decimal(1).scaleb(-WEIGHT_PLACES)
_WEIGHT_LIMIT = Decimal(10) ** (_DIGITS - WEIGHT_PLACES - 1)
_ATTRIBUTES = ("name", "country", "sector", "currency", "asset_class")
_NAMES = (f"exposure_flat_{n}" for n in itertools.count(1))


class Holding(NamedTuple):
    """One priced holding: the security as the catalog describes it, and its value."""

    listing: Listing
    value: Decimal


@dataclass(frozen=True, slots=True)
class FlatTables:
    """A flattening installed in a DuckDB database, and what requests need of it in Python."""

    flat: str  # fid, kid, ord, rid, weight
    listings: str  # rid, key, name, country, sector, currency, asset_class
    fund_ids: Mapping[str, int]
    key_ids: Mapping[str, int]
    unresolved: tuple[Decimal, ...]  # by fund id: unresolved weight
    norms: tuple[Decimal, ...]  # by fund id: sum of absolute weights (bounds the sums)
    reach: tuple[frozenset[str], ...]  # by fund id: the funds its walk expands


def install_flat(connection: duckdb.DuckDBPyConnection, flat: Mapping[str, FlatFund]) -> FlatTables:
    """Store ``flat`` as two new tables of ``connection``'s database (visible to its cursors)."""
    fund_ids = {fund: fid for fid, fund in enumerate(sorted(flat))}
    key_ids: dict[str, int] = {}
    listing_ids: dict[int, int] = {}  # by id(): equal listings read once are one object
    listed: list[Listing] = []
    fids: list[int] = []
    kids: list[int] = []
    orders: list[int] = []
    rids: list[int] = []
    weights: list[Decimal] = []
    norms: list[Decimal] = []
    for fund, fid in fund_ids.items():
        norm = Decimal(0)
        for order, (listing, weight) in enumerate(flat[fund].rows):
            fids.append(fid)
            kids.append(key_ids.setdefault(listing.key, len(key_ids)))
            orders.append(order)
            rid = listing_ids.get(id(listing))
            if rid is None:
                rid = listing_ids[id(listing)] = len(listed)
                listed.append(listing)
            rids.append(rid)
            weights.append(weight.quantize(_WEIGHT_UNIT, context=_CONTEXT))
            norm = _CONTEXT.add(norm, abs(weight))
        if norm >= _WEIGHT_LIMIT:
            raise OverflowError(f"the compositions of {fund} add up to weights too large to look through")
        norms.append(norm)
    rows = pa.table(
        {
            "fid": pa.array(fids, pa.int32()),
            "kid": pa.array(kids, pa.int32()),
            "ord": pa.array(orders, pa.int32()),
            "rid": pa.array(rids, pa.int32()),
            "weight": pa.array(weights, pa.decimal128(_DIGITS, WEIGHT_PLACES)),
        }
    )
    listings = pa.table(
        {
            "rid": pa.array(range(len(listed)), pa.int32()),
            "key": pa.array([listing.key for listing in listed], pa.string()),
            **{name: pa.array([getattr(listing, name) for listing in listed], pa.string()) for name in _ATTRIBUTES},
        }
    )
    name = next(_NAMES)
    tables = FlatTables(
        flat=name,
        listings=f"{name}_listings",
        fund_ids=fund_ids,
        key_ids=key_ids,
        unresolved=tuple(flat[fund].unresolved for fund in fund_ids),
        norms=tuple(norms),
        reach=tuple(flat[fund].reach for fund in fund_ids),
    )
    cursor = connection.cursor()
    try:
        for table, relation in ((tables.flat, rows), (tables.listings, listings)):
            cursor.register("flat_arrow", relation)
            cursor.execute(f"CREATE TABLE {table} AS SELECT * FROM flat_arrow")
            cursor.unregister("flat_arrow")
    finally:
        cursor.close()
    return tables


def drop_flat(connection: duckdb.DuckDBPyConnection, tables: FlatTables) -> None:
    """Remove the tables :func:`install_flat` made."""
    cursor = connection.cursor()
    try:
        cursor.execute(f"DROP TABLE IF EXISTS {tables.flat}; DROP TABLE IF EXISTS {tables.listings}")
    finally:
        cursor.close()


def value_scale(bound: Decimal) -> int:
    """The places a value can keep when no sum of products exceeds ``bound`` in size.

    A value with ``s`` places times a weight has ``s`` + :data:`WEIGHT_PLACES` places,
    and every sum of them must fit 38 digits.
    """
    integer_digits = max(bound.adjusted() + 1, 1) if bound else 1
    scale = min(VALUE_SCALE, _DIGITS - WEIGHT_PLACES - integer_digits)
    if scale < _MIN_SCALE:
        raise OverflowError(f"values up to {bound} are too large to look through exactly")
    return scale


def load_held(cursor: duckdb.DuckDBPyConnection, tables: FlatTables, holdings: Sequence[Holding]) -> int:
    """The cursor's temporary ``held`` table (``root`` is the holdings' order); its values' scale.

    A holding whose key has a composition gets the fund's id (``fid``); every key, a
    security's id shared with the flattened rows (``kid``).
    """
    bound = Decimal(0)
    key_ids = dict(tables.key_ids)
    fids: list[int | None] = []
    for listing, value in holdings:
        fid = tables.fund_ids.get(listing.key)
        fids.append(fid)
        key_ids.setdefault(listing.key, len(key_ids))
        bound = _CONTEXT.add(bound, _CONTEXT.multiply(abs(value), tables.norms[fid] if fid is not None else 1))
    scale = value_scale(bound)
    unit = Decimal(1).scaleb(-scale)
    relation = pa.table(
        {
            "root": pa.array(range(len(holdings)), pa.int32()),
            "kid": pa.array([key_ids[listing.key] for listing, _ in holdings], pa.int32()),
            "fid": pa.array(fids, pa.int32()),
            "key": pa.array([listing.key for listing, _ in holdings], pa.string()),
            **{name: pa.array([getattr(h.listing, name) for h in holdings], pa.string()) for name in _ATTRIBUTES},
            "value": pa.array(
                [value.quantize(unit, context=_CONTEXT) for _, value in holdings], pa.decimal128(_DIGITS, scale)
            ),
        }
    )
    cursor.register("held_arrow", relation)
    # A copy in DuckDB's own table: joins over a registered Arrow table plan badly.
    cursor.execute("CREATE OR REPLACE TEMP TABLE held AS SELECT * FROM held_arrow")
    cursor.unregister("held_arrow")
    return scale


class Group(NamedTuple):
    """One group of exposure: its label (a security's key), a security's name, its value."""

    label: str
    name: str | None
    value: Decimal


class Grouped(NamedTuple):
    """Exposure grouped by one dimension (values with ``scale`` + :data:`WEIGHT_PLACES` places)."""

    groups: list[Group]
    unresolved: Decimal
    scale: int


def _exposure_sql(tables: FlatTables, by: Dimension, places: int) -> str:
    if by not in DIMENSIONS:
        raise ValueError(f"cannot group by {by!r}")
    # ``seen`` orders occurrences as the domain's walk meets them: holdings in order,
    # then a fund's securities in first-occurrence order. A held security has rid < 0.
    found = f"""
    WITH occurrences AS (
        SELECT f.kid, h.value * f.weight AS value, (CAST(h.root AS BIGINT) << 32) + f.ord AS seen, f.rid
        FROM held h JOIN {tables.flat} f ON f.fid = h.fid
        UNION ALL
        SELECT kid, CAST(value AS DECIMAL({_DIGITS}, {places})), CAST(root AS BIGINT) << 32, -1 - root
        FROM held WHERE fid IS NULL
    ),
    securities AS (
        SELECT kid, sum(value) AS value, arg_min(rid, seen) AS rid FROM occurrences GROUP BY kid
        HAVING sum(value) <> 0
    )"""
    if by == "security":
        return f"""{found}
        SELECT CASE WHEN s.rid >= 0 THEN l.key ELSE h.key END, CASE WHEN s.rid >= 0 THEN l.name ELSE h.name END,
               s.value
        FROM securities s LEFT JOIN {tables.listings} l ON l.rid = s.rid LEFT JOIN held h ON h.root = -1 - s.rid
        ORDER BY s.value DESC"""
    return f"""{found}
    SELECT coalesce(nullif(CASE WHEN s.rid >= 0 THEN l.{by} ELSE h.{by} END, ''), '{by} unknown') AS label,
           NULL, sum(s.value)
    FROM securities s LEFT JOIN {tables.listings} l ON l.rid = s.rid LEFT JOIN held h ON h.root = -1 - s.rid
    GROUP BY label"""


def _decimals(column: pa.ChunkedArray) -> list[Decimal]:
    # Through text: pyarrow's own Decimal conversion is twice as slow.
    return [Decimal(text) for text in column.cast(pa.string()).to_pylist()]


def group_exposure_sql(
    cursor: duckdb.DuckDBPyConnection, tables: FlatTables, holdings: Sequence[Holding], by: Dimension
) -> Grouped:
    """``holdings`` looked through ``tables`` and grouped ``by`` one dimension.

    Like the domain's ``group_exposure`` over ``look_through``; ``name`` is a
    security's first-seen name (``by="security"`` only); the unresolved value is apart.
    """
    scale = load_held(cursor, tables, holdings)
    result = cursor.execute(_exposure_sql(tables, by, scale + WEIGHT_PLACES)).to_arrow_table()
    labels, names = result.column(0).to_pylist(), result.column(1).to_pylist()
    groups = [Group(*row) for row in zip(labels, names, _decimals(result.column(2)), strict=True)]
    unresolved = Decimal(0)
    for listing, value in holdings:
        fid = tables.fund_ids.get(listing.key)
        if fid is not None:
            unresolved = _CONTEXT.add(unresolved, _CONTEXT.multiply(value, tables.unresolved[fid]))
    return Grouped(groups, unresolved, scale)


def overlap_shares(
    cursor: duckdb.DuckDBPyConnection, tables: FlatTables, funds: Sequence[str]
) -> list[tuple[int, int, Decimal]]:
    """Per pair of ``funds`` (indexes, first < second) sharing a security: the share they hold in common.

    Like the domain's ``overlap``: the sum over common securities of the smaller
    look-through weight (securities of weight zero are not held).
    """
    load_held(cursor, tables, [Holding(Listing(fund), Decimal(1)) for fund in funds])
    rows = cursor.execute(
        f"""WITH weights AS (
                SELECT h.root, f.kid, f.weight FROM held h JOIN {tables.flat} f ON f.fid = h.fid WHERE f.weight <> 0)
            SELECT a.root, b.root, CAST(sum(least(a.weight, b.weight)) AS VARCHAR)
            FROM weights a JOIN weights b ON a.kid = b.kid AND a.root < b.root
            GROUP BY a.root, b.root"""
    ).fetchall()
    return [(first, second, Decimal(share)) for first, second, share in rows]


def shared_securities(
    cursor: duckdb.DuckDBPyConnection, tables: FlatTables, funds: Sequence[Holding], limit: int
) -> list[tuple[str, str | None, list[int], Decimal]]:
    """Securities reached from two or more of ``funds``: key, name, the funds' indexes, value.

    ``value`` is what all of them hold of it together; the ``limit`` largest come first.
    """
    load_held(cursor, tables, funds)
    rows = cursor.execute(
        f"""WITH shared AS (
                SELECT f.kid, list(h.root ORDER BY h.root) AS roots, sum(h.value * f.weight) AS value,
                       arg_min(f.rid, h.root) AS rid
                FROM held h JOIN {tables.flat} f ON f.fid = h.fid WHERE h.value <> 0 AND f.weight <> 0
                GROUP BY f.kid HAVING count(*) >= 2)
            SELECT l.key, l.name, s.roots, CAST(s.value AS VARCHAR)
            FROM shared s JOIN {tables.listings} l ON l.rid = s.rid
            ORDER BY s.value DESC, l.key LIMIT $limit""",
        {"limit": limit},
    ).fetchall()
    return [(key, name, list(roots), Decimal(value)) for key, name, roots, value in rows]
