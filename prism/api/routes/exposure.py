"""Look-through exposure, fund overlap and triggered alerts.

``/portfolios/{id}/exposure`` and ``/exposure`` (all portfolios, in the owner's
``base_currency``), each with ``/overlap``; ``/alerts`` lists what alert rules found,
newest first.
"""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

import msgspec
from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.types import ControllerRouterHandler

from prism.analytics.exposure import ExposureReport, OverlapReport, Unpriced, exposure, overlap_report
from prism.api.pagination import check_limit, decode_cursor, encode_cursor
from prism.api.state import owner_of, state_of
from prism.domain.money import canonical
from prism.errors import ValidationError
from prism.storage.alert_events import AlertEvent, list_alert_events

__all__ = [
    "EXPOSURE_ROUTES",
    "all_exposure",
    "all_overlap",
    "alerts",
    "portfolio_exposure",
    "portfolio_overlap",
]

Req = Request[Any, Any, Any]


class By(StrEnum):
    """What exposure is grouped by."""

    SECURITY = "security"
    COUNTRY = "country"
    SECTOR = "sector"
    CURRENCY = "currency"
    ASSET_CLASS = "asset_class"


class GroupOut(msgspec.Struct, kw_only=True):
    key: str
    label: str
    value: str
    weight: str


class UnresolvedOut(msgspec.Struct, kw_only=True):
    value: str
    weight: str


class UnpricedOut(msgspec.Struct, kw_only=True):
    asset_id: uuid.UUID
    isin: str | None
    name: str
    quantity: str
    reason: str


class CompositionOut(msgspec.Struct, kw_only=True):
    fund: str
    as_of: dt.date


class AsOfOut(msgspec.Struct, kw_only=True):
    prices_from: dt.date | None
    prices_to: dt.date | None
    compositions: list[CompositionOut]


class ExposureOut(msgspec.Struct, kw_only=True):
    """Look-through exposure by one dimension; amounts in ``currency``."""

    by: str
    date: dt.date
    currency: str
    total: str
    groups: list[GroupOut]
    unresolved: UnresolvedOut
    unpriced: list[UnpricedOut]
    as_of: AsOfOut


class PairOut(msgspec.Struct, kw_only=True):
    first: str
    second: str
    share: str


class SharedOut(msgspec.Struct, kw_only=True):
    key: str
    name: str | None
    funds: list[str]
    value: str


class OverlapOut(msgspec.Struct, kw_only=True):
    """Pairwise overlap of the held funds, and securities held through several."""

    date: dt.date
    currency: str
    funds: list[str]
    pairs: list[PairOut]
    securities: list[SharedOut]
    unpriced: list[UnpricedOut]
    compositions: list[CompositionOut]


class AlertEventOut(msgspec.Struct, kw_only=True):
    rule_id: uuid.UUID
    day: dt.date
    condition: str
    threshold: str
    observed: str
    currency: str | None
    asset_id: uuid.UUID | None
    portfolio_id: uuid.UUID | None
    created_at: dt.datetime


class AlertEventPage(msgspec.Struct, kw_only=True):
    """Triggered alerts, newest first."""

    items: list[AlertEventOut]
    next_cursor: str | None = None


def _day(date: dt.date | None) -> dt.date:
    return date if date is not None else dt.date.today()


def _unpriced(items: list[Unpriced]) -> list[UnpricedOut]:
    return [
        UnpricedOut(asset_id=u.asset_id, isin=u.isin, name=u.name, quantity=canonical(u.quantity), reason=u.reason)
        for u in items
    ]


def _compositions(found: dict[str, dt.date]) -> list[CompositionOut]:
    return [CompositionOut(fund=fund, as_of=day) for fund, day in sorted(found.items())]


def _exposure_out(report: ExposureReport) -> ExposureOut:
    return ExposureOut(
        by=report.by,
        date=report.date,
        currency=report.currency,
        total=str(report.total),
        groups=[GroupOut(key=g.key, label=g.label, value=str(g.value), weight=str(g.weight)) for g in report.groups],
        unresolved=UnresolvedOut(value=str(report.unresolved_value), weight=str(report.unresolved_weight)),
        unpriced=_unpriced(report.unpriced),
        as_of=AsOfOut(
            prices_from=report.prices_from, prices_to=report.prices_to, compositions=_compositions(report.compositions)
        ),
    )


def _overlap_out(report: OverlapReport) -> OverlapOut:
    return OverlapOut(
        date=report.date,
        currency=report.currency,
        funds=report.funds,
        pairs=[PairOut(first=p.first, second=p.second, share=str(p.share)) for p in report.pairs],
        securities=[
            SharedOut(key=s.key, name=s.name, funds=list(s.funds), value=str(s.value)) for s in report.securities
        ],
        unpriced=_unpriced(report.unpriced),
        compositions=_compositions(report.compositions),
    )


async def _exposure(request: Req, portfolio_id: uuid.UUID | None, by: By, date: dt.date | None) -> ExposureOut:
    state = state_of(request)
    report = await exposure(
        state.database,
        state.lake,
        owner_of(request),
        by=by.value,
        on=_day(date),
        portfolio_id=portfolio_id,
    )
    return _exposure_out(report)


async def _overlap(request: Req, portfolio_id: uuid.UUID | None, date: dt.date | None, limit: int) -> OverlapOut:
    state = state_of(request)
    report = await overlap_report(
        state.database,
        state.lake,
        owner_of(request),
        on=_day(date),
        portfolio_id=portfolio_id,
        limit=check_limit(limit),
    )
    return _overlap_out(report)


@get("/portfolios/{portfolio_id:uuid}/exposure", tags=["exposure"], summary="Look-through exposure of a portfolio")
async def portfolio_exposure(
    request: Req,
    portfolio_id: FromPath[uuid.UUID],
    by: FromQuery[By] = By.SECURITY,
    date: FromQuery[dt.date | None] = None,
) -> ExposureOut:
    """What one portfolio holds through its funds on ``date`` (default today), in its base currency."""
    return await _exposure(request, portfolio_id, by, date)


@get("/exposure", tags=["exposure"], summary="Look-through exposure of all portfolios")
async def all_exposure(
    request: Req, by: FromQuery[By] = By.SECURITY, date: FromQuery[dt.date | None] = None
) -> ExposureOut:
    """What the account holds through its funds on ``date``, in the ``base_currency`` setting."""
    return await _exposure(request, None, by, date)


@get("/portfolios/{portfolio_id:uuid}/exposure/overlap", tags=["exposure"], summary="Fund overlap of a portfolio")
async def portfolio_overlap(
    request: Req,
    portfolio_id: FromPath[uuid.UUID],
    date: FromQuery[dt.date | None] = None,
    limit: FromQuery[int] = 100,
) -> OverlapOut:
    """How much the portfolio's funds hold in common, and the ``limit`` largest shared securities."""
    return await _overlap(request, portfolio_id, date, limit)


@get("/exposure/overlap", tags=["exposure"], summary="Fund overlap of all portfolios")
async def all_overlap(request: Req, date: FromQuery[dt.date | None] = None, limit: FromQuery[int] = 100) -> OverlapOut:
    """How much the account's funds hold in common, and the ``limit`` largest shared securities."""
    return await _overlap(request, None, date, limit)


def _after(position: list[Any] | None) -> tuple[dt.datetime, dt.date, uuid.UUID] | None:
    if position is None:
        return None
    try:
        stamp, day, rule = position
        return dt.datetime.fromisoformat(stamp), dt.date.fromisoformat(day), uuid.UUID(rule)
    except (TypeError, ValueError):
        raise ValidationError("is not a cursor this server issued", field="cursor") from None


def _event_out(event: AlertEvent) -> AlertEventOut:
    return AlertEventOut(
        rule_id=event.rule_id,
        day=event.day,
        condition=event.condition,
        threshold=canonical(event.threshold),
        observed=canonical(event.observed),
        currency=event.currency,
        asset_id=event.asset_id,
        portfolio_id=event.portfolio_id,
        created_at=event.created_at,
    )


@get("/alerts", tags=["alerts"], summary="Triggered alerts, newest first")
async def alerts(request: Req, cursor: FromQuery[str | None] = None, limit: FromQuery[int] = 100) -> AlertEventPage:
    """What alert rules found when prices arrived (one event per rule and day)."""
    state = state_of(request)
    after = _after(decode_cursor(cursor))
    found = await state.database.read(list_alert_events, owner_of(request), after=after, limit=check_limit(limit) + 1)
    page = found[:limit]
    next_cursor = None
    if len(found) > limit:
        last = page[-1]
        next_cursor = encode_cursor([last.created_at.isoformat(), last.day.isoformat(), str(last.rule_id)])
    return AlertEventPage(items=[_event_out(e) for e in page], next_cursor=next_cursor)


EXPOSURE_ROUTES: list[ControllerRouterHandler] = [
    portfolio_exposure,
    all_exposure,
    portfolio_overlap,
    all_overlap,
    alerts,
]
