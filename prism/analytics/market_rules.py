"""Market data checked and typed: raw text rows become rows of a lake dataset, or an error.

All rows are checked at once in DuckDB (a file of millions of prices takes seconds,
not a Python loop per row); only distinct ISINs and currencies are checked in Python,
by the domain's own rules. Every problem is collected, with the row it is on, before
:class:`~prism.analytics.market_files.MarketDataError` is raised; nothing is written
then. What is odd but usable (an ISIN no asset of the catalog has, a composition whose
weights do not sum to 100%, weights given in percent) is imported and reported.

Decimals are parsed from text by DuckDB's exact ``DECIMAL`` cast (never a float), and
refused when they have more decimal places than the dataset stores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import duckdb
import pyarrow as pa

from prism.analytics.market_files import COLUMNS, Finding, MarketDataError, MarketKind, RawRows
from prism.domain.isin import parse_isin
from prism.domain.money import parse_currency
from prism.errors import ValidationError

__all__ = ["Prepared", "prepare"]

#: A composition's weights may sum to this far from 100% before it is reported.
WEIGHT_TOLERANCE = Decimal("0.03")
#: Weights summing to more than this are read as percent: no fund holds 300% of itself.
PERCENT_ABOVE = Decimal(3)
_MAX_WARNED_ISINS = 50
_NUMBER = r"^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)$"
_NO_ISIN = ("-", "--", "n/a", "na", "none", "null")


@dataclass(frozen=True, slots=True)
class Prepared:
    """Rows ready for the lake, and what was noticed on the way."""

    table: pa.Table
    warnings: tuple[Finding, ...]
    isins: tuple[str, ...]  # prices: the assets; ETF holdings: the funds
    pairs: tuple[str, ...]  # FX: the currency pairs
    earliest: dt.date | None


class _Check:
    """Problems and warnings of one import, located by the raw rows' ``_row``."""

    def __init__(self, raw: RawRows, cursor: duckdb.DuckDBPyConnection) -> None:
        self.raw = raw
        self.cursor = cursor
        self.problems: list[tuple[int, int, Finding]] = []
        self.warnings: list[Finding] = list(raw.notes)
        self._order = 0

    def problem(self, row: int | None, column: str, message: str) -> None:
        self._order += 1
        self.problems.append(
            (row if row is not None else -1, self._order, Finding(self.raw.locate(row, column), message, row))
        )

    def warn(self, row: int | None, column: str, message: str) -> None:
        self.warnings.append(Finding(self.raw.locate(row, column), message, row))

    def rows(self, sql: str, column: str) -> None:
        """Each (``_row``, message) ``sql`` selects is a problem in ``column``."""
        for row, message in self.cursor.execute(f"{sql} ORDER BY 1 LIMIT 1000").fetchall():
            self.problem(row, column, message)

    def distinct(self, table: str, column: str, rule: Callable[[str], object]) -> None:
        """Check each distinct value of ``column`` with ``rule``; its errors are problems on every row."""
        values = self.cursor.execute(f'SELECT DISTINCT "{column}" FROM {table} WHERE "{column}" IS NOT NULL').fetchall()
        bad: dict[str, str] = {}
        for (value,) in values:
            try:
                rule(value)
            except ValidationError as error:
                bad[value] = error.message
        if bad:
            self.cursor.register("bad_values", pa.table({"value": list(bad), "message": list(bad.values())}))
            self.rows(f'SELECT _row, b.message FROM {table} t JOIN bad_values b ON t."{column}" = b.value', column)
            self.cursor.unregister("bad_values")

    def duplicates(self, table: str, keys: Sequence[str], column: str, what: str) -> None:
        """Rows that repeat ``keys`` of an earlier row are problems."""
        listed = ", ".join(f'"{key}"' for key in keys)
        not_null = " AND ".join(f'"{key}" IS NOT NULL' for key in keys)
        found = self.cursor.execute(
            f"SELECT list(_row ORDER BY _row) FROM {table} WHERE {not_null} GROUP BY {listed} "
            "HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1000"
        ).fetchall()
        for (rows,) in found:
            for row in rows[1:]:
                self.problem(row, column, f"repeats {what} of {self.raw.where(rows[0])}")

    def raise_problems(self) -> None:
        if self.problems:
            ordered = [finding for _, _, finding in sorted(self.problems, key=lambda item: item[:2])]
            raise MarketDataError(ordered)


def _text(column: str, *, upper: bool = False) -> str:
    trimmed = f"NULLIF(trim(\"{column}\"), '')"
    return f"upper({trimmed})" if upper else trimmed


def _number(column: str, comma: bool) -> str:
    text = _text(column)
    if not comma:
        return text
    # "1.234,56" (thousands dots and a decimal comma); "1234,56"; "1234.56" stays as it is.
    return f"CASE WHEN contains({text}, ',') THEN replace(replace({text}, '.', ''), ',', '.') ELSE {text} END"


def _decimal(name: str, places: int) -> str:
    """SQL for the exact decimal in text column ``n_<name>`` (NULL when it breaks a rule)."""
    text = f"n_{name}"
    return (
        f"CASE WHEN regexp_full_match({text}, '{_NUMBER}') AND "
        f"length(regexp_extract({text}, '[.]([0-9]*)$', 1)) <= {places} "
        f"THEN {_cast(text, places)} END"
    )


def _cast(text: str, places: int) -> str:
    # DuckDB parses text into a 128-bit DECIMAL(38, s) a hundred times slower than into a
    # 64-bit DECIMAL(18, s); the wide parse is left for the few numbers that need it.
    narrow = f"TRY_CAST({text} AS DECIMAL(18, {places}))"
    wide = f"DECIMAL(38, {places})"
    return f"CASE WHEN {narrow} IS NOT NULL THEN CAST({narrow} AS {wide}) ELSE TRY_CAST({text} AS {wide}) END"


def _decimal_problems(check: _Check, table: str, name: str, places: int, *, column: str | None = None) -> None:
    """Problems of the decimal ``name`` (reported in ``column``, by default ``name``)."""
    text = f"n_{name}"
    check.rows(
        f"SELECT _row, CASE WHEN {text} IS NULL THEN 'is missing' "
        f"WHEN NOT regexp_full_match({text}, '{_NUMBER}') THEN '''' || {text} || ''' is not a decimal number' "
        f"WHEN length(regexp_extract({text}, '[.]([0-9]*)$', 1)) > {places} "
        f"THEN {text} || ' has more than {places} decimal places' "
        f"WHEN {name} IS NULL THEN {text} || ' is too large' END AS message FROM {table} "
        f"WHERE {name} IS NULL",
        column or name,
    )


def _date_problems(check: _Check, table: str, name: str) -> None:
    check.rows(
        f"SELECT _row, CASE WHEN d_{name} IS NULL THEN 'is missing' "
        f"ELSE '''' || d_{name} || ''' is not a date (YYYY-MM-DD)' END FROM {table} WHERE {name} IS NULL",
        name,
    )


def _require(raw: RawRows, *columns: str) -> None:
    missing = [name for name in columns if name not in raw.table.column_names]
    if missing:
        aliases = ", ".join(COLUMNS[raw.kind][missing[0]])
        where = "the request's rows have" if raw.style == "api" else "the file has"
        raise MarketDataError([Finding(missing[0], f"{where} no {missing[0]} column (read from: {aliases})")])


def _unknown_isins(check: _Check, table: str, column: str, known: frozenset[str] | None) -> tuple[str, ...]:
    found = check.cursor.execute(
        f'SELECT "{column}", min(_row) FROM {table} WHERE "{column}" IS NOT NULL GROUP BY 1 ORDER BY 1'
    ).fetchall()
    if known is not None:
        unknown = [(isin, row) for isin, row in found if isin not in known]
        for isin, row in unknown[:_MAX_WARNED_ISINS]:
            check.warn(row, column, f"no asset in the catalog has ISIN {isin}; imported anyway")
        if len(unknown) > _MAX_WARNED_ISINS:
            check.warn(None, column, f"{len(unknown) - _MAX_WARNED_ISINS} more ISINs no asset has; imported anyway")
    return tuple(isin for isin, _ in found)


def _finish(check: _Check, table: str, select: str, date: str) -> tuple[pa.Table, dt.date | None]:
    check.raise_problems()
    rows = check.cursor.execute(f"SELECT {select} FROM {table}").to_arrow_table()
    if rows.num_rows == 0:
        raise MarketDataError([Finding("rows", "there are no rows to import")])
    earliest = check.cursor.execute(f"SELECT min({date}) FROM {table}").fetchone()
    return rows, earliest[0] if earliest else None


def _prices(check: _Check, default_currency: str | None, known: frozenset[str] | None) -> Prepared:
    raw = check.raw
    _require(raw, "isin", "date", "close")
    if "currency" not in raw.table.column_names and default_currency is None:
        _require(raw, "currency")
    currency = _text("currency", upper=True) if "currency" in raw.table.column_names else "NULL"
    fallback = f"'{parse_currency(default_currency)}'" if default_currency else "NULL"
    check.cursor.execute(
        f"CREATE TEMP TABLE norm AS SELECT _row, {_text('isin', upper=True)} AS isin, "
        f"{_text('date')} AS d_date, TRY_CAST({_text('date')} AS DATE) AS date, "
        f"{_number('close', raw.decimal_comma)} AS n_close, coalesce({currency}, {fallback}) AS currency FROM raw"
    )
    check.cursor.execute(f"CREATE TEMP TABLE typed AS SELECT *, {_decimal('close', 10)} AS close FROM norm")
    check.rows("SELECT _row, 'is missing' FROM typed WHERE isin IS NULL", "isin")
    check.distinct("typed", "isin", parse_isin)
    _date_problems(check, "typed", "date")
    _decimal_problems(check, "typed", "close", 10)
    check.rows("SELECT _row, 'must be positive, not ' || n_close FROM typed WHERE close <= 0", "close")
    check.rows("SELECT _row, 'is missing' FROM typed WHERE currency IS NULL", "currency")
    check.distinct("typed", "currency", parse_currency)
    check.duplicates("typed", ("isin", "date"), "date", "the ISIN and date")
    table, earliest = _finish(check, "typed", "isin, date, close, currency", "date")
    isins = _unknown_isins(check, "typed", "isin", known)
    return Prepared(table, tuple(check.warnings), isins, (), earliest)


def _pair(value: str) -> None:
    if len(value) != 6:
        raise ValidationError(f"{value!r} is not a currency pair like EURUSD")
    base, quote = parse_currency(value[:3]), parse_currency(value[3:])
    if base == quote:
        raise ValidationError(f"{value!r} converts {base} into itself")


def _fx(check: _Check) -> Prepared:
    raw = check.raw
    columns = raw.table.column_names
    if "pair" not in columns:
        _require(raw, "base", "quote")
    whole = f"replace(replace(replace({_optional(raw, 'pair', upper=True)}, '/', ''), '-', ''), ' ', '')"
    split = f"{_optional(raw, 'base', upper=True)} || {_optional(raw, 'quote', upper=True)}"
    pair = f"coalesce({whole}, {split})"
    pair_column = "pair" if "pair" in columns else "base"
    _require(raw, "date", "rate")
    check.cursor.execute(
        f"CREATE TEMP TABLE norm AS SELECT _row, {pair} AS pair, {_text('date')} AS d_date, "
        f"TRY_CAST({_text('date')} AS DATE) AS date, {_number('rate', raw.decimal_comma)} AS n_rate FROM raw"
    )
    check.cursor.execute(f"CREATE TEMP TABLE typed AS SELECT *, {_decimal('rate', 12)} AS rate FROM norm")
    check.rows("SELECT _row, 'is missing' FROM typed WHERE pair IS NULL", pair_column)
    check.distinct("typed", "pair", _pair)
    _date_problems(check, "typed", "date")
    _decimal_problems(check, "typed", "rate", 12)
    check.rows("SELECT _row, 'must be positive, not ' || n_rate FROM typed WHERE rate <= 0", "rate")
    check.duplicates("typed", ("pair", "date"), "date", "the pair and date")
    table, earliest = _finish(check, "typed", "pair, date, rate", "date")
    pairs = tuple(p for (p,) in check.cursor.execute("SELECT DISTINCT pair FROM typed ORDER BY 1").fetchall())
    return Prepared(table, tuple(check.warnings), (), pairs, earliest)


def _number_or_null(raw: RawRows, column: str) -> str:
    return _number(column, raw.decimal_comma) if column in raw.table.column_names else "CAST(NULL AS VARCHAR)"


def _optional(raw: RawRows, column: str, *, upper: bool = False) -> str:
    return _text(column, upper=upper) if column in raw.table.column_names else "CAST(NULL AS VARCHAR)"


def _etf_holdings(check: _Check, known: frozenset[str] | None) -> Prepared:
    raw = check.raw
    columns = raw.table.column_names
    _require(raw, "fund_isin", "as_of")
    if "weight" not in columns and "weight_pct" not in columns:
        _require(raw, "weight")
    weight = "weight" if "weight" in columns else "weight_pct"
    plain, percent = _number_or_null(raw, "weight"), _number_or_null(raw, "weight_pct")
    if "constituent_isin" not in columns and "constituent_name" not in columns:
        _require(raw, "constituent_name")
    no_isin = ", ".join(f"'{text}'" for text in _NO_ISIN)
    isin = _optional(raw, "constituent_isin", upper=True)
    check.cursor.execute(
        f"CREATE TEMP TABLE norm AS SELECT _row, {_text('fund_isin', upper=True)} AS fund_isin, "
        f"{_text('as_of')} AS d_as_of, TRY_CAST({_text('as_of')} AS DATE) AS as_of, "
        f"CASE WHEN lower({isin}) IN ({no_isin}) THEN NULL ELSE {isin} END AS constituent_isin, "
        f"{_optional(raw, 'constituent_name')} AS constituent_name, "
        f"coalesce({plain}, {percent}) AS n_weight, {percent} IS NOT NULL AS pct, "
        f"{plain} IS NOT NULL AND {percent} IS NOT NULL AS both_weights, "
        f"{_optional(raw, 'country', upper=True)} AS country, "
        f"{_optional(raw, 'sector')} AS sector, {_optional(raw, 'currency', upper=True)} AS currency, "
        f"{_optional(raw, 'asset_class')} AS asset_class FROM raw"
    )
    check.cursor.execute(f"CREATE TEMP TABLE typed AS SELECT *, {_decimal('weight', 12)} AS weight FROM norm")
    check.rows("SELECT _row, 'is missing' FROM typed WHERE fund_isin IS NULL", "fund_isin")
    check.distinct("typed", "fund_isin", lambda value: parse_isin(value, field="fund_isin"))
    _date_problems(check, "typed", "as_of")
    check.distinct("typed", "constituent_isin", parse_isin)
    check.rows(
        "SELECT _row, 'needs a constituent ISIN or name' FROM typed "
        "WHERE constituent_isin IS NULL AND constituent_name IS NULL",
        "constituent_name",
    )
    check.rows("SELECT _row, 'give weight (a fraction) or weight_pct, not both' FROM typed WHERE both_weights", weight)
    _decimal_problems(check, "typed", "weight", 12, column=weight)
    check.distinct("typed", "currency", parse_currency)
    check.raise_problems()
    _percent_compositions(check, weight)
    check.cursor.execute(
        "CREATE TEMP TABLE fractions AS SELECT t.* REPLACE (CASE WHEN NOT pct AND p.fund_isin IS NULL THEN weight "
        "ELSE CAST(weight * 0.01 AS DECIMAL(38, 12)) END AS weight) FROM typed t "
        "LEFT JOIN percent p ON t.fund_isin = p.fund_isin AND t.as_of = p.as_of"
    )
    check.rows(
        "SELECT _row, 'weight ' || n_weight || ' is outside -100%..100% of the fund' FROM fractions "
        "WHERE weight < -1 OR weight > 1",
        weight,
    )
    _composition_sums(check, weight)
    select = "fund_isin, as_of, constituent_isin, constituent_name, weight, country, sector, currency, asset_class"
    table, earliest = _finish(check, "fractions", select, "as_of")
    funds = _unknown_isins(check, "fractions", "fund_isin", known)
    return Prepared(table, tuple(check.warnings), funds, (), earliest)


def _percent_compositions(check: _Check, weight: str) -> None:
    """Table ``percent``: compositions whose plain weights are percent, reported as such."""
    check.cursor.execute(
        "CREATE TEMP TABLE percent AS SELECT fund_isin, as_of, min(_row) AS first, sum(weight) AS total "
        f"FROM typed WHERE NOT pct GROUP BY fund_isin, as_of HAVING sum(weight) > {PERCENT_ABOVE}"
    )
    found = check.cursor.execute("SELECT fund_isin, as_of, first, total FROM percent ORDER BY first").fetchall()
    for fund, as_of, first, total in found:
        check.warn(first, weight, f"weights of {fund} on {as_of} sum to {total.normalize():f}: read as percent")


def _composition_sums(check: _Check, weight: str) -> None:
    found = check.cursor.execute(
        "SELECT fund_isin, as_of, min(_row), sum(weight) FROM fractions GROUP BY fund_isin, as_of "
        f"HAVING sum(weight) < {1 - WEIGHT_TOLERANCE} OR sum(weight) > {1 + WEIGHT_TOLERANCE} ORDER BY 3"
    ).fetchall()
    for fund, as_of, first, total in found:
        off = (total - 1) * 100
        way = "over" if off > 0 else "short of"
        share = f"{(total * 100).normalize():f}%"
        check.warn(
            first, weight, f"weights of {fund} on {as_of} sum to {share}, {abs(off).normalize():f} points {way} 100%"
        )


def prepare(raw: RawRows, *, known_isins: Iterable[str] | None = None, default_currency: str | None = None) -> Prepared:
    """Check and type ``raw``: the rows for the lake, or a MarketDataError listing every problem.

    ``known_isins`` are the ISINs of the importing owner's assets (None: do not check);
    ``default_currency`` is the currency of prices whose rows name none.
    """
    known = frozenset(known_isins) if known_isins is not None else None
    with duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}) as cursor:
        cursor.register("raw", raw.table)
        check = _Check(raw, cursor)
        if raw.kind is MarketKind.PRICES:
            return _prices(check, default_currency, known)
        if raw.kind is MarketKind.FX:
            return _fx(check)
        return _etf_holdings(check, known)
