"""Opt-in telemetry: counts and timings, never anything about the person or their money.

Off unless ``PRISM_TELEMETRY`` is on, and sent only to ``PRISM_TELEMETRY_URL``. A report
holds the version, the serving mode, how many portfolios, assets and transactions the
device holds as an order of magnitude (``"100-999"``), and per API route *template*
(``/api/v1/portfolios/{portfolio_id}``) how many requests of each status class it
answered and how long they took (count, total seconds, and the latency histogram's
bucket counts). ``prism telemetry preview`` prints exactly the bytes that would be sent.

Every report passes :func:`scrub` on its way out, whatever built it: keys outside the
schema are dropped, routes that are not one of the app's templates are dropped (an
unmatched URL could carry anything), and any text that looks like an ISIN, an e-mail
address, an amount, a path, a UUID or a token is removed. The tests feed it realistic
personal data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import msgspec
from prometheus_client import REGISTRY
from sqlalchemy import Connection, func, select

from prism import __version__
from prism.config import Settings, TelemetrySettings
from prism.storage.catalog import device_account
from prism.storage.engine import Database
from prism.storage.tables import assets, portfolios, transactions

__all__ = ["Report", "build_report", "count_bucket", "encode_report", "scrub", "send_reports"]

log = logging.getLogger(__name__)

_REQUEST_METRIC = "prism_request_duration_seconds"
_SUSPECT = [
    re.compile(r"\b[A-Z]{2}[A-Z0-9]{9}[0-9]\b"),  # an ISIN
    re.compile(r"[^\s@]+@[^\s@]+"),  # an e-mail address
    re.compile(r"\d+[.,]\d+"),  # an amount or a rate
    re.compile(r"[/\\~]"),  # a path
    re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}"),  # a UUID
    re.compile(r"[A-Za-z0-9_\-]{20,}"),  # a token or key
]
_TEMPLATE = re.compile(r"^/api/v1(/(\{[a-z_]+(:[a-z]+)?\}|[a-z0-9-]+))*$")


class RouteTimings(msgspec.Struct, frozen=True, kw_only=True):
    """How often one route template answered, per status class, and how long it took."""

    route: str
    method: str
    status: str  # "2xx", "4xx", "5xx"
    count: int
    seconds: float
    buckets: dict[str, int]  # histogram upper bound (seconds) -> cumulative count


class Report(msgspec.Struct, frozen=True, kw_only=True):
    """One telemetry report: nothing in it names a person, a security or an amount."""

    schema: int = 1
    version: str
    mode: str
    python: str
    system: str
    portfolios: str
    assets: str
    transactions: str
    routes: list[RouteTimings]


def count_bucket(count: int) -> str:
    """An order of magnitude: ``"0"``, ``"1-9"``, ``"10-99"``, ..."""
    if count <= 0:
        return "0"
    low = 10 ** (len(str(count)) - 1)
    return f"{low}-{low * 10 - 1}"


def _counts(connection: Connection) -> tuple[int, int, int]:
    owner = device_account(connection)
    if owner is None:
        return 0, 0, 0

    def count(table: Any) -> int:
        return int(connection.scalar(select(func.count()).select_from(table).where(table.c.owner_id == owner)) or 0)

    return count(portfolios), count(assets), count(transactions)


def _route_timings(templates: set[str]) -> list[RouteTimings]:
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for metric in REGISTRY.collect():
        if metric.name != _REQUEST_METRIC:
            continue
        for sample in metric.samples:
            labels = sample.labels
            route, method, status = labels.get("path", ""), labels.get("method", ""), labels.get("status_code", "")
            if route not in templates or not status[:1].isdigit():
                continue
            key = (route, method, f"{status[0]}xx")
            entry = grouped.setdefault(key, {"count": 0, "seconds": 0.0, "buckets": {}})
            if sample.name.endswith("_count"):
                entry["count"] += int(sample.value)
            elif sample.name.endswith("_sum"):
                entry["seconds"] += float(sample.value)
            elif sample.name.endswith("_bucket"):
                bound = labels.get("le", "")
                entry["buckets"][bound] = entry["buckets"].get(bound, 0) + int(sample.value)
    return [
        RouteTimings(
            route=r, method=m, status=s, count=e["count"], seconds=round(e["seconds"], 6), buckets=e["buckets"]
        )
        for (r, m, s), e in sorted(grouped.items())
    ]


async def build_report(settings: Settings, database: Database, templates: Iterable[str]) -> Report:
    """This process's report (``templates``: the app's route templates)."""
    counted = await database.read(_counts)
    return scrub(
        Report(
            version=__version__,
            mode=settings.server.mode,
            python=platform.python_version(),
            system=platform.system(),
            portfolios=count_bucket(counted[0]),
            assets=count_bucket(counted[1]),
            transactions=count_bucket(counted[2]),
            routes=_route_timings(set(templates)),
        ),
        set(templates),
    )


def _clean(text: str) -> str:
    return "" if any(pattern.search(text) for pattern in _SUSPECT) else text


def _clean_label(text: str) -> str:
    # Version strings and bucket bounds are numbers with dots: allowed where the schema says so.
    return text if re.fullmatch(r"[0-9.+Inf]{1,16}", text) else ""


def scrub(report: Report, templates: set[str]) -> Report:
    """``report`` with everything outside the schema's harmless shapes removed."""
    routes = [
        msgspec.structs.replace(
            timing,
            method=timing.method if timing.method.isalpha() and timing.method.isupper() else "",
            buckets={bound: n for bound, n in timing.buckets.items() if _clean_label(bound)},
        )
        for timing in report.routes
        if timing.route in templates and _TEMPLATE.match(timing.route) and timing.status in {"2xx", "3xx", "4xx", "5xx"}
    ]
    return msgspec.structs.replace(
        report,
        version=_clean_label(report.version),
        mode=report.mode if report.mode in {"device", "hosted"} else "",
        python=_clean_label(report.python),
        system=_clean(report.system),
        portfolios=report.portfolios if re.fullmatch(r"0|\d+-\d+", report.portfolios) else "",
        assets=report.assets if re.fullmatch(r"0|\d+-\d+", report.assets) else "",
        transactions=report.transactions if re.fullmatch(r"0|\d+-\d+", report.transactions) else "",
        routes=routes,
    )


def encode_report(report: Report) -> bytes:
    """The exact bytes sent (and shown by ``prism telemetry preview``)."""
    return msgspec.json.encode(report)


@contextlib.asynccontextmanager
async def send_reports(settings: Settings, database: Database, templates: Iterable[str]) -> AsyncIterator[None]:
    """While open, send a report every interval, if telemetry is on and has an endpoint."""
    config: TelemetrySettings = settings.telemetry
    if not (config.enabled and config.endpoint):
        yield
        return
    task = asyncio.create_task(_loop(settings, database, list(templates)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _loop(settings: Settings, database: Database, templates: list[str]) -> None:
    config = settings.telemetry
    assert config.endpoint is not None
    async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
        while True:
            await asyncio.sleep(config.interval_seconds)
            body = encode_report(await build_report(settings, database, templates))
            try:
                await client.post(config.endpoint, content=body, headers={"Content-Type": "application/json"})
            except httpx.HTTPError as error:  # telemetry never disturbs the app
                log.warning("telemetry not sent: %s", type(error).__name__)
