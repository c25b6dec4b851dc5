"""Holdings, performance, value history, look-through exposure and fund overlap."""

from __future__ import annotations

import datetime as dt
import uuid

from prism.api.routes.analytics import PerformanceOut, ValueHistoryOut
from prism.api.routes.exposure import By, ExposureOut, OverlapOut
from prism.api.schemas import CostMethod, HoldingPage
from prism.client._operations import Area, Call, M, operation

__all__ = ["Analytics"]


class Analytics(Area[M]):
    """What the ledger and the lake say about the portfolios; amounts are decimal strings."""

    @operation("GET", "/api/v1/holdings")
    def holdings(self, *, cost_method: CostMethod = CostMethod.FIFO) -> Call[HoldingPage]:
        """Holdings of all portfolios, by asset."""
        return Call(HoldingPage, query={"cost_method": cost_method})

    @operation("GET", "/api/v1/portfolios/{portfolio_id}/holdings")
    def portfolio_holdings(
        self, portfolio_id: uuid.UUID, *, cost_method: CostMethod = CostMethod.FIFO
    ) -> Call[HoldingPage]:
        """Holdings of one portfolio, by asset."""
        return Call(HoldingPage, path={"portfolio_id": portfolio_id}, query={"cost_method": cost_method})

    @operation("GET", "/api/v1/performance")
    def performance(
        self, *, start: dt.date | None = None, end: dt.date | None = None, cost_method: CostMethod = CostMethod.FIFO
    ) -> Call[PerformanceOut]:
        """Performance of all portfolios over a period."""
        return Call(PerformanceOut, query={"start": start, "end": end, "cost_method": cost_method})

    @operation("GET", "/api/v1/portfolios/{portfolio_id}/performance")
    def portfolio_performance(
        self,
        portfolio_id: uuid.UUID,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        cost_method: CostMethod = CostMethod.FIFO,
    ) -> Call[PerformanceOut]:
        """Performance of one portfolio over a period."""
        query = {"start": start, "end": end, "cost_method": cost_method}
        return Call(PerformanceOut, path={"portfolio_id": portfolio_id}, query=query)

    @operation("GET", "/api/v1/value-history")
    def value_history(self, *, start: dt.date | None = None, end: dt.date | None = None) -> Call[ValueHistoryOut]:
        """Daily values of all portfolios."""
        return Call(ValueHistoryOut, query={"start": start, "end": end})

    @operation("GET", "/api/v1/portfolios/{portfolio_id}/value-history")
    def portfolio_value_history(
        self, portfolio_id: uuid.UUID, *, start: dt.date | None = None, end: dt.date | None = None
    ) -> Call[ValueHistoryOut]:
        """Daily values of one portfolio."""
        return Call(ValueHistoryOut, path={"portfolio_id": portfolio_id}, query={"start": start, "end": end})

    @operation("GET", "/api/v1/exposure")
    def exposure(self, *, by: By = By.SECURITY, date: dt.date | None = None) -> Call[ExposureOut]:
        """Look-through exposure of all portfolios, grouped ``by``."""
        return Call(ExposureOut, query={"by": by, "date": date})

    @operation("GET", "/api/v1/portfolios/{portfolio_id}/exposure")
    def portfolio_exposure(
        self, portfolio_id: uuid.UUID, *, by: By = By.SECURITY, date: dt.date | None = None
    ) -> Call[ExposureOut]:
        """Look-through exposure of one portfolio, grouped ``by``."""
        return Call(ExposureOut, path={"portfolio_id": portfolio_id}, query={"by": by, "date": date})

    @operation("GET", "/api/v1/exposure/overlap")
    def overlap(self, *, date: dt.date | None = None, limit: int = 100) -> Call[OverlapOut]:
        """Fund overlap across all portfolios."""
        return Call(OverlapOut, query={"date": date, "limit": limit})

    @operation("GET", "/api/v1/portfolios/{portfolio_id}/exposure/overlap")
    def portfolio_overlap(
        self, portfolio_id: uuid.UUID, *, date: dt.date | None = None, limit: int = 100
    ) -> Call[OverlapOut]:
        """Fund overlap within one portfolio."""
        return Call(OverlapOut, path={"portfolio_id": portfolio_id}, query={"date": date, "limit": limit})
