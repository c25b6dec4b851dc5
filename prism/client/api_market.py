"""``/api/v1/market``: closing prices, FX rates and ETF compositions in the lake."""

from __future__ import annotations

import datetime as dt

from prism.api.routes.market import EtfHoldingsIn, FxRatesIn, ImportReportOut, PricePage, PricesIn
from prism.client._operations import Area, Call, M, operation, paged

__all__ = ["Market"]


class Market(Area[M]):
    """Market data; an import replaces stored rows with the same key, so resending one is safe."""

    @operation("POST", "/api/v1/market/prices", idempotent=True)
    def import_prices(self, body: PricesIn) -> Call[ImportReportOut]:
        """Import closing prices."""
        return Call(ImportReportOut, body=body)

    @operation("POST", "/api/v1/market/fx", idempotent=True)
    def import_fx(self, body: FxRatesIn) -> Call[ImportReportOut]:
        """Import FX rates."""
        return Call(ImportReportOut, body=body)

    @operation("POST", "/api/v1/market/etf-holdings", idempotent=True)
    def import_etf_holdings(self, body: EtfHoldingsIn) -> Call[ImportReportOut]:
        """Import ETF compositions; each (fund, as-of) given replaces the stored one whole."""
        return Call(ImportReportOut, body=body)

    @operation("GET", "/api/v1/market/prices")
    def prices(
        self,
        *,
        isin: str | None = None,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cursor: str | None = None,
        limit: int = 1000,
    ) -> Call[PricePage]:
        """One page of the closes the lake holds, in (ISIN, date) order."""
        query = {"isin": isin, "start": start, "end": end, "cursor": cursor, "limit": limit}
        return Call(PricePage, query=query)

    iter_prices = paged(prices)
