"""Read commands: health, positions, dashboard data, true holdings, and the hive toggle.

Reads go through ``Database.read`` (one snapshot each) and the lake's DuckDB cursors on
worker threads, so several run at once and none holds up the event loop; answers are
cached until the store or the lake changes (:class:`~prism.sidecar.services.Services`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any, NamedTuple

import msgspec

from prism.analytics.days import DayRow
from prism.analytics.exposure import ExposureReport, HeldAsset, exposure, held_assets
from prism.analytics.valuation import ALL_PORTFOLIOS
from prism.domain.exposure import Dimension
from prism.errors import ValidationError
from prism.sidecar.book import portfolio_of, read_book
from prism.sidecar.call import Call
from prism.sidecar.health import health_data
from prism.sidecar.services import Services
from prism.sidecar.shapes import dashboard_data, positions_data, true_holdings_data
from prism.sidecar.sources import Through, fund_sources
from prism.storage.lake import SNAPSHOTS, Lake
from prism.storage.settings import get_setting, put_setting

__all__ = [
    "get_dashboard_data",
    "get_health",
    "get_hive_contribution",
    "get_positions",
    "get_true_holdings",
    "recent_days",
    "set_hive_contribution",
]

#: Stored days read for the dashboard: the month it draws, and the day before for the change.
_RECENT_DAYS = 31
_HIVE_KEY = "hive_contribution_enabled"
_ENCODER = msgspec.json.Encoder(decimal_format="number")


async def get_health(call: Call) -> dict[str, Any]:
    """Version, memory, uptime and where the data lives; never waits for the store."""
    return health_data(call.settings, call.version, call.session_id, call.started)


async def get_positions(call: Call) -> msgspec.Raw:
    """Every position of the portfolio asked for (legacy number: all), with value and gains."""
    services = await call.open_services()
    portfolio = portfolio_of(call.payload)

    async def compute() -> dict[str, Any]:
        book = await services.database.read(read_book, services.owner_id, portfolio)
        return await asyncio.to_thread(positions_data, book, dt.datetime.now(dt.UTC))

    return await services.cached(("get_positions", str(portfolio)), compute)


def recent_days(lake: Lake, owner_id: uuid.UUID, portfolio_id: uuid.UUID | None, count: int) -> list[DayRow]:
    """The last ``count`` stored days (the snapshots job's), oldest first."""
    rows = lake.query(
        f"""SELECT {", ".join(DayRow._fields)} FROM {lake.scan(SNAPSHOTS, owner_id)}
            WHERE portfolio_id = $key ORDER BY date DESC LIMIT $count""",
        {"key": str(portfolio_id) if portfolio_id is not None else ALL_PORTFOLIOS, "count": count},
    )
    columns = [rows.column(name).to_pylist() for name in DayRow._fields]
    return [DayRow(*values) for values in zip(*columns, strict=True)][::-1]


class _Inputs(NamedTuple):
    """What a look-through depends on: the quantities held (with their facts), the lake, the day."""

    currency: str
    held: tuple[HeldAsset, ...]
    versions: tuple[int, ...]
    on: dt.date


async def _inputs(services: Services, call: Call, portfolio: uuid.UUID | None) -> _Inputs:
    held, versions = await asyncio.gather(
        services.database.read(held_assets, services.owner_id, portfolio), asyncio.to_thread(services.lake_versions)
    )
    return _Inputs(held[0], tuple(held[1]), versions, call.today())


async def _exposure(
    services: Services, by: Dimension, call: Call, portfolio: uuid.UUID | None, inputs: _Inputs
) -> ExposureReport:
    """A look-through, reused while its ``inputs`` are unchanged."""

    async def compute() -> ExposureReport:
        database, lake, owner = services.database, services.lake, services.owner_id
        return await exposure(database, lake, owner, by=by, on=call.today(), portfolio_id=portfolio)

    return await services.memo(("exposure", by, portfolio), inputs, compute)


async def _recent(services: Services, portfolio: uuid.UUID | None) -> list[DayRow]:
    """The last stored days, reused until the snapshots job commits again."""
    versions = await asyncio.to_thread(services.lake_versions)

    async def compute() -> list[DayRow]:
        return await asyncio.to_thread(recent_days, services.lake, services.owner_id, portfolio, _RECENT_DAYS)

    return await services.memo(("days", portfolio), versions[-1], compute)


async def get_dashboard_data(call: Call) -> msgspec.Raw:
    """Totals, gains, the day's change, a month of values, allocations and the top holdings."""
    services = await call.open_services()
    portfolio = portfolio_of(call.payload)

    async def compute() -> dict[str, Any]:
        inputs = await _inputs(services, call, portfolio)
        book, days, by_sector, by_region = await asyncio.gather(
            services.database.read(read_book, services.owner_id, portfolio),
            _recent(services, portfolio),
            _exposure(services, "sector", call, portfolio, inputs),
            _exposure(services, "country", call, portfolio, inputs),
        )
        return await asyncio.to_thread(dashboard_data, book, days, by_sector, by_region)

    return await services.cached(("get_dashboard_data", str(portfolio)), compute)


async def get_true_holdings(call: Call) -> msgspec.Raw:
    """Look-through exposure by security, with the share no composition accounts for."""
    services = await call.open_services()
    portfolio = portfolio_of(call.payload)

    async def compute() -> msgspec.Raw:
        inputs = await _inputs(services, call, portfolio)

        async def sources() -> Through:
            return await asyncio.to_thread(fund_sources, services.lake, inputs.held, inputs.currency, inputs.on)

        report, through = await asyncio.gather(
            _exposure(services, "security", call, portfolio, inputs),
            services.memo(("sources", portfolio), inputs, sources),
        )
        # Shaping thousands of securities costs more than the look-up: keep it with its inputs.
        return await services.memo(("true-holdings", portfolio), inputs, lambda: _encoded(report, through))

    return await services.cached(("get_true_holdings", str(portfolio)), compute)


async def _encoded(report: ExposureReport, through: Through) -> msgspec.Raw:
    # Off the event loop: thousands of securities take tens of milliseconds to shape.
    return await asyncio.to_thread(lambda: msgspec.Raw(_ENCODER.encode(true_holdings_data(report, through))))


async def get_hive_contribution(call: Call) -> dict[str, Any]:
    """Whether this device contributes to the hive: the stored choice, or PRISM_HIVE_CONTRIBUTE."""
    services = await call.open_services()
    stored = await services.database.read(get_setting, services.owner_id, _HIVE_KEY)
    return {"enabled": bool(stored.value) or call.settings.hive.contribute}


async def set_hive_contribution(call: Call) -> dict[str, Any]:
    """Store the user's choice (a synced setting: every linked device follows it)."""
    enabled = call.payload.get("enabled")
    if not isinstance(enabled, bool):
        raise ValidationError("must be true or false", field="enabled")
    services = await call.open_services()
    await services.database.write(put_setting, services.owner_id, _HIVE_KEY, "bool", enabled)
    return {"enabled": enabled or call.settings.hive.contribute}
