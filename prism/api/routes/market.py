"""``/market``: market data into the lake (prices, FX rates, ETF compositions), and prices back.

Market data is shared by every owner; an import only consults the caller's catalog to
warn about ISINs none of its assets has. Rows travel as JSON with decimals as strings;
a rejected import answers 422 listing every problem (``errors``) and writes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromQuery, JSONBody
from litestar.types import ControllerRouterHandler

from prism.analytics.market import (
    ImportReport,
    MarketDataError,
    MarketKind,
    catalog_isins,
    import_market_rows,
    read_prices,
)
from prism.analytics.market_files import raw_from_records
from prism.api.pagination import check_limit, decode_cursor, encode_cursor
from prism.api.problems import problem
from prism.api.schemas import DecimalText
from prism.api.state import owner_of, state_of
from prism.domain.isin import parse_isin
from prism.domain.money import canonical
from prism.errors import PermissionDeniedError, ValidationError

__all__ = [
    "MARKET_ROUTES",
    "EtfHoldingRowIn",
    "EtfHoldingsIn",
    "FxRatesIn",
    "FxRowIn",
    "ImportReportOut",
    "PriceOut",
    "PricePage",
    "PriceRowIn",
    "PricesIn",
    "import_etf_holdings",
    "import_fx",
    "import_prices",
    "list_prices",
]

#: Rows one request may carry; bigger imports go through a file (``prism market import``).
MAX_ROWS = 100_000


class _Row(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if isinstance(value, str) and "\x00" in value:
                raise ValueError(f"text must not contain NUL characters - at `$.{name}`")


class PriceRowIn(_Row):
    """One close of an asset."""

    isin: str
    date: dt.date
    close: DecimalText
    currency: str


class FxRowIn(_Row):
    """One FX rate: one unit of ``pair``'s first currency (or ``base``) in its second (``quote``)."""

    date: dt.date
    rate: DecimalText
    pair: str | None = None
    base: str | None = None
    quote: str | None = None


class EtfHoldingRowIn(_Row):
    """One constituent of a fund's composition on a day; ``weight`` is a fraction, ``weight_pct`` percent."""

    fund_isin: str
    as_of: dt.date
    constituent_isin: str | None = None
    constituent_name: str | None = None
    weight: DecimalText | None = None
    weight_pct: DecimalText | None = None
    country: str | None = None
    sector: str | None = None
    currency: str | None = None
    asset_class: str | None = None


class PricesIn(_Row):
    """Closes to import."""

    rows: Annotated[list[PriceRowIn], msgspec.Meta(min_length=1, max_length=MAX_ROWS)]


class FxRatesIn(_Row):
    """FX rates to import."""

    rows: Annotated[list[FxRowIn], msgspec.Meta(min_length=1, max_length=MAX_ROWS)]


class EtfHoldingsIn(_Row):
    """Fund compositions to import; each (fund, as-of) present replaces the stored one whole."""

    rows: Annotated[list[EtfHoldingRowIn], msgspec.Meta(min_length=1, max_length=MAX_ROWS)]


class FindingOut(msgspec.Struct, kw_only=True):
    """A warning: the field (naming the row) and what was noticed."""

    field: str
    message: str


class ImportReportOut(msgspec.Struct, kw_only=True):
    """What an import wrote: rows, the dataset's new version, the ISINs or pairs it touched."""

    dataset: str
    rows: int
    version: int
    earliest: dt.date | None
    isins: list[str]
    pairs: list[str]
    warnings: list[FindingOut]
    alerts_triggered: int = 0  # alert events the new prices set off


class PriceOut(msgspec.Struct, kw_only=True):
    """A close the lake holds."""

    isin: str
    date: dt.date
    close: DecimalText
    currency: str


class PricePage(msgspec.Struct, kw_only=True):
    """Closes in (ISIN, date) order; ``next_cursor`` continues."""

    items: list[PriceOut]
    next_cursor: str | None


def _report(report: ImportReport) -> ImportReportOut:
    return ImportReportOut(
        dataset=report.dataset,
        rows=report.rows,
        version=report.version,
        earliest=report.earliest,
        isins=list(report.isins),
        pairs=list(report.pairs),
        warnings=[FindingOut(field=w.field, message=w.message) for w in report.warnings],
        alerts_triggered=report.alerts,
    )


def _record(row: msgspec.Struct) -> dict[str, str | None]:
    return {name: None if value is None else str(value) for name, value in msgspec.structs.asdict(row).items()}


async def _import(request: Request[Any, Any, Any], kind: MarketKind, rows: list[Any]) -> Response[Any]:
    state = state_of(request)
    if state.settings.server.mode == "hosted":
        # Market data is shared by every account of a hosted server: one account must not
        # rewrite everyone's prices. Its operator imports them with `prism market import`.
        raise PermissionDeniedError("a hosted server's market data is imported by its operator")
    raw = raw_from_records(kind, [_record(row) for row in rows])
    try:
        report = await import_market_rows(
            state.database,
            state.lake,
            state.settings.lake_lock_path,
            raw,
            known_isins=await catalog_isins(state.database, owner_of(request)),
        )
    except MarketDataError as error:
        # Every problem, not only the first: a client fixes a batch in one go.
        errors = [finding.as_dict() for finding in error.problems]
        return problem(422, error.code, "Invalid input", f"{error.total} problem(s); first: {error}", errors)
    return Response(_report(report), status_code=201)


_IMPORTED = "The import's report (rows written, the dataset's version, warnings)"


@post("/market/prices", tags=["market"], summary="Import closing prices", response_description=_IMPORTED)
async def import_prices(request: Request[Any, Any, Any], data: JSONBody[PricesIn]) -> Response[ImportReportOut]:
    """Merge closes into the lake: an (ISIN, date) imported again replaces the stored close."""
    return await _import(request, MarketKind.PRICES, data.rows)


@post("/market/fx", tags=["market"], summary="Import FX rates", response_description=_IMPORTED)
async def import_fx(request: Request[Any, Any, Any], data: JSONBody[FxRatesIn]) -> Response[ImportReportOut]:
    """Merge FX rates into the lake: a (pair, date) imported again replaces the stored rate."""
    return await _import(request, MarketKind.FX, data.rows)


@post("/market/etf-holdings", tags=["market"], summary="Import ETF compositions", response_description=_IMPORTED)
async def import_etf_holdings(
    request: Request[Any, Any, Any], data: JSONBody[EtfHoldingsIn]
) -> Response[ImportReportOut]:
    """Merge fund compositions into the lake: each (fund, as-of) in the rows replaces the stored one whole."""
    return await _import(request, MarketKind.ETF_HOLDINGS, data.rows)


def _after(cursor: str | None) -> tuple[str, dt.date] | None:
    position = decode_cursor(cursor)
    if position is None:
        return None
    try:
        isin, day = position
        return str(isin), dt.date.fromisoformat(day)
    except (ValueError, TypeError):
        raise ValidationError("is not a cursor this server issued", field="cursor") from None


@get("/market/prices", tags=["market"], summary="Closes the lake holds")
async def list_prices(
    request: Request[Any, Any, Any],
    *,
    isin: FromQuery[str | None] = None,
    start: FromQuery[dt.date | None] = None,
    end: FromQuery[dt.date | None] = None,
    cursor: FromQuery[str | None] = None,
    limit: FromQuery[int] = 1000,
) -> PricePage:
    """Shared market data, in (ISIN, date) order, one bounded page at a time."""
    wanted = parse_isin(isin) if isin is not None else None
    size = check_limit(limit)
    after = _after(cursor)
    found = await asyncio.to_thread(
        read_prices, state_of(request).lake, isin=wanted, start=start, end=end, after=after, limit=size + 1
    )
    items = [PriceOut(isin=p.isin, date=p.date, close=canonical(p.close), currency=p.currency) for p in found[:size]]
    last = found[size - 1] if len(found) > size else None
    return PricePage(
        items=items, next_cursor=encode_cursor([last.isin, last.date.isoformat()]) if last is not None else None
    )


MARKET_ROUTES: list[ControllerRouterHandler] = [import_prices, import_fx, import_etf_holdings, list_prices]
