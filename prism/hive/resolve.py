"""Resolving ISINs from the hive's consensus tables (a hive's, or a device's mirror)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from prism.domain.hive_consensus import is_stale
from prism.domain.money import canonical
from prism.hive.checks import ASSET_FIELDS
from prism.hive.contributions import current_version
from prism.hive.wire import CompositionOut, FieldValue, HoldingOut, ListingOut, Resolution
from prism.storage.hive_tables import hive_assets, hive_etf_holdings, hive_funds, hive_listings

__all__ = ["resolve_isins"]

_CHUNK = 500


def _text(value: Decimal) -> str:
    return canonical(value)


def _rows(connection: Connection, statement: Any, column: Any, isins: Sequence[str]) -> list[Any]:
    found: list[Any] = []
    for start in range(0, len(isins), _CHUNK):
        found.extend(connection.execute(statement.where(column.in_(isins[start : start + _CHUNK]))).mappings())
    return found


def _fields(row: Any) -> dict[str, FieldValue]:
    consensus: dict[str, list[Any]] = row["consensus"] or {}
    out = {}
    for name in ASSET_FIELDS:
        value = row[name]
        if value is not None:
            confidence, contributors = consensus.get(name, ["1", 1])
            out[name] = FieldValue(value=value, confidence=str(confidence), contributors=int(contributors))
    return out


def resolve_isins(
    connection: Connection, isins: Sequence[str], *, today: dt.date, with_holdings: bool = False
) -> tuple[int, dict[str, Resolution]]:
    """The hive's version and what it knows of each of ``isins`` (unknown ISINs are left out)."""
    wanted = list(dict.fromkeys(isins))
    assets = {row["isin"]: row for row in _rows(connection, select(hive_assets), hive_assets.c.isin, wanted)}
    funds = {row["etf_isin"]: row for row in _rows(connection, select(hive_funds), hive_funds.c.etf_isin, wanted)}
    listings: dict[str, list[ListingOut]] = defaultdict(list)
    for row in _rows(connection, select(hive_listings), hive_listings.c.isin, wanted):
        listings[row["isin"]].append(
            ListingOut(
                ticker=row["ticker"],
                exchange=row["exchange"],
                currency=row["currency"],
                confidence=_text(row["confidence"]),
                contributors=row["contributors"],
            )
        )
    holdings: dict[str, list[HoldingOut]] = defaultdict(list)
    if with_holdings and funds:
        statement = select(hive_etf_holdings).order_by(hive_etf_holdings.c.holding_key)
        for row in _rows(connection, statement, hive_etf_holdings.c.etf_isin, list(funds)):
            holdings[row["etf_isin"]].append(
                HoldingOut(
                    isin=row["holding_isin"],
                    name=row["holding_name"],
                    weight=_text(row["weight"]),
                    country=row["country"],
                    sector=row["sector"],
                    currency=row["currency"],
                    asset_class=row["asset_class"],
                )
            )
    found: dict[str, Resolution] = {}
    for isin in wanted:
        asset, fund = assets.get(isin), funds.get(isin)
        if asset is None and fund is None:
            continue
        composition = None
        if fund is not None:
            rows = holdings.get(isin, []) if with_holdings else None
            if rows is not None:
                # Text weights sort as text on SQLite; order by the number here.
                rows.sort(key=lambda h: (-Decimal(h.weight), h.isin or "", h.name or ""))
            composition = CompositionOut(
                as_of=fund["as_of"],
                stale=is_stale(fund["as_of"], today),
                holdings_count=fund["holdings_count"],
                contributors=fund["contributors"],
                confidence=_text(fund["confidence"]),
                holdings=rows,
            )
        found[isin] = Resolution(
            isin=isin,
            status=asset["enrichment_status"] if asset is not None else "stub",
            contributors=asset["contributors"] if asset is not None else fund["contributors"] if fund else 0,
            fields=_fields(asset) if asset is not None else {},
            listings=sorted(listings.get(isin, []), key=lambda listing: (-listing.contributors, listing.ticker)),
            composition=composition,
        )
    return current_version(connection), found
