"""ETF holdings caches: ``{ISIN}.csv`` per fund beside a ``_metadata.json``, as lake rows.

Providers wrote different columns: iShares ``ticker,name,weight_percentage,raw_ticker``
(no ISIN; cash rows like ``USD CASH``), Amundi ``ticker,isin,name,weight_percentage,
sector,country,currency``, Xtrackers German labels (often mis-decoded: ``GroÃbritannien``),
manual ``ISIN,Name,Weight,Region,Sector``. Each file becomes one composition
(fund, as-of = the metadata's ``cached_at``, else the file's date) for
:func:`prism.analytics.market.import_market_rows`, which checks it and normalises the
weights to fractions. A constituent without a usable ISIN is matched by ticker, then
by name, against the asset universe; if neither matches it is kept by name and reported.
Rows without a weight (provider footers) are skipped and reported.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from prism.analytics.market_files import MarketKind, RawRows, raw_from_records
from prism.domain.isin import parse_isin
from prism.domain.money import parse_currency
from prism.errors import ValidationError
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.text import fix_mojibake, parse_date, parse_number, read_csv_rows
from prism.imports.legacy.universe import AssetFacts

__all__ = ["Composition", "IsinMatcher", "read_etf_cache", "read_metadata"]

_ISIN = ("isin", "constituent_isin")
_NAME = ("name", "constituent_name", "bezeichnung", "emittent", "holding_name")
_TICKER = ("ticker", "raw_ticker", "symbol", "emittententicker")
_WEIGHT = ("weight_percentage", "weight", "gewichtung", "gewichtung (%)", "weight (%)", "anteil", "gewicht")
_COUNTRY = ("country", "land", "region", "standort", "location", "geography")
_SECTOR = ("sector", "sektor", "branche")
_CURRENCY = ("currency", "währung", "marktwährung")
#: A composition whose weights sum above this is in percent (fractions sum to about 1).
_PERCENT_ABOVE = Decimal(3)


@dataclass(slots=True)
class IsinMatcher:
    """Finds the ISIN of a constituent by ticker or name among the known assets."""

    by_ticker: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, facts: Iterable[AssetFacts]) -> IsinMatcher:
        """A matcher over the tickers, Yahoo tickers (without exchange suffix) and names given."""
        matcher = cls()
        for fact in facts:
            tickers = [fact.ticker, fact.metadata.get("tr_ticker"), fact.metadata.get("yahoo_ticker")]
            for ticker in tickers:
                if isinstance(ticker, str) and ticker:
                    matcher.by_ticker.setdefault(ticker.upper(), fact.isin)
                    matcher.by_ticker.setdefault(ticker.split(".")[0].upper(), fact.isin)
            names = [fact.name, *fact.metadata.get("aliases", [])]
            for name in names:
                if isinstance(name, str) and name:
                    matcher.by_name.setdefault(name.casefold(), fact.isin)
        return matcher

    def find(self, ticker: str | None, name: str | None) -> str | None:
        """The ISIN of the asset with this ticker, else this name; None if neither is known."""
        if ticker and ticker.upper() in self.by_ticker:
            return self.by_ticker[ticker.upper()]
        if name:
            return self.by_name.get(name.casefold())
        return None


@dataclass(frozen=True, slots=True)
class Composition:
    """One fund's composition, ready for the market import."""

    fund_isin: str
    as_of: dt.date
    raw: RawRows
    rows: int


def read_metadata(path: Path, report: FileReport) -> dict[str, dict[str, object]]:
    """``_metadata.json`` as {fund ISIN: entry}; unreadable files are reported and give {}."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        report.note("file", f"is not JSON ({error}): the caches' file dates are used")
        return {}
    if not isinstance(document, dict):
        return {}
    return {str(key).upper(): value for key, value in document.items() if isinstance(value, dict)}


def _pick(row: dict[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = row.get(name)
        if value and value.strip():
            return fix_mojibake(value.strip())
    return None


def _currency(value: str | None) -> str | None:
    try:
        return parse_currency(value) if value else None
    except ValidationError:
        return None


def _as_of(path: Path, entry: dict[str, object] | None) -> dt.date:
    cached = entry.get("cached_at") if entry else None
    found = parse_date(cached) if isinstance(cached, str) else None
    return found or dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()


def _constituent_isin(row: dict[str, str], matcher: IsinMatcher, name: str | None) -> tuple[str | None, str | None]:
    """(ISIN, how it was found) of one row; (None, None) when only the name is known."""
    given = _pick(row, _ISIN)
    if given:
        try:
            return parse_isin(given), None
        except ValidationError:
            pass
    ticker = _pick(row, _TICKER)
    found = matcher.find(ticker, name)
    return (found, "matched") if found else (None, None)


def read_etf_cache(
    path: Path, metadata: dict[str, dict[str, object]], matcher: IsinMatcher, report: FileReport
) -> Composition | None:
    """One fund's cache file as a composition (None when nothing in it is usable)."""
    fund = parse_isin(path.stem)
    table = read_csv_rows(path)
    header = set(table.header)
    weight_column = next((name for name in _WEIGHT if name in header), None)
    if weight_column is None:
        report.skip("header", "no weight column")
        return None
    as_of = _as_of(path, metadata.get(fund))
    records: list[dict[str, str | None]] = []
    unnamed: list[str] = []
    total = Decimal(0)
    for line, row in table.rows:
        weight = parse_number(row.get(weight_column), decimal_comma=table.decimal_comma)
        name = _pick(row, _NAME)
        isin, how = _constituent_isin(row, matcher, name)
        if weight is None:
            report.skip(f"line {line}", "no weight (a footer or note row)")
            continue
        if isin is None and name is None:
            report.skip(f"line {line}", "neither ISIN nor name")
            continue
        if how == "matched":
            report.note(f"line {line}", f"{name or _pick(row, _TICKER)} matched to {isin} by ticker or name")
        if isin is None:
            unnamed.append(name or "")
        total += weight
        records.append(
            {
                "fund_isin": fund,
                "as_of": as_of.isoformat(),
                "constituent_isin": isin,
                "constituent_name": name,
                "weight": format(weight, "f"),
                "country": _pick(row, _COUNTRY),
                "sector": _pick(row, _SECTOR),
                "currency": _currency(_pick(row, _CURRENCY)),
            }
        )
    if not records:
        return None
    if "percent" in weight_column or "%" in weight_column or total > _PERCENT_ABOVE:
        for record in records:
            record["weight_pct"], record["weight"] = record["weight"], None
    if unnamed:
        shown = ", ".join(unnamed[:5]) + (", …" if len(unnamed) > 5 else "")
        report.note("rows", f"{len(unnamed)} constituent(s) without an ISIN kept by name: {shown}")
    return Composition(fund, as_of, raw_from_records(MarketKind.ETF_HOLDINGS, records), len(records))
