"""``get_overlap_analysis``: how much the held funds overlap, in the older frontend's shape.

``matrix[i][j]`` is the overlap of funds ``etfs[i]`` and ``etfs[j]`` in percent (one
decimal; 100 on the diagonal), from :func:`prism.analytics.exposure.overlap_report`;
``sharedHoldings`` are the ten largest securities held through more than one fund.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from typing import Any

from prism.analytics.exposure import OverlapReport, overlap_report
from prism.sidecar.book import portfolio_of
from prism.sidecar.call import Call

__all__ = ["get_overlap_analysis", "overlap_data"]

_CONTEXT = decimal.Context(prec=40, rounding=decimal.ROUND_HALF_EVEN)
_TENTH = Decimal("0.1")
_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_SHARED = 10


def overlap_data(report: OverlapReport) -> dict[str, Any]:
    """The report as ``{etfs, matrix, sharedHoldings}``."""
    funds = sorted(report.funds)
    index = {fund: number for number, fund in enumerate(funds)}
    matrix = [[_HUNDRED.quantize(_TENTH) if i == j else Decimal(0).quantize(_TENTH) for j in funds] for i in funds]
    for pair in report.pairs:
        share = _CONTEXT.multiply(pair.share, _HUNDRED).quantize(_TENTH, context=_CONTEXT)
        first, second = index[pair.first], index[pair.second]
        matrix[first][second] = matrix[second][first] = share
    shared = [
        {
            "stock": item.name or item.key,
            "isin": item.key,
            "etfs": list(item.funds),
            "totalValue": item.value.quantize(_CENT),
        }
        for item in report.securities[:_SHARED]
    ]
    return {"etfs": funds, "matrix": matrix, "sharedHoldings": shared, "currency": report.currency}


async def get_overlap_analysis(call: Call) -> dict[str, Any]:
    """Pairwise overlap of the held funds and the securities they share."""
    services = await call.open_services()
    found = await overlap_report(
        services.database,
        services.lake,
        services.owner_id,
        on=call.today(),
        portfolio_id=portfolio_of(call.payload),
        limit=_SHARED,
    )
    return overlap_data(found)
