"""What an operator sees of a running server: Prometheus metrics, request ids, JSON logs.

* ``GET /metrics`` (Prometheus text format; not part of the OpenAPI document): request
  counts and latency histograms by route template, method and status (Litestar's
  Prometheus middleware, paths grouped by template so ids never become labels), relay
  pushes and pulls with their bytes, and database connections in use. Each replica
  serves its own figures; Prometheus scrapes every replica.
* Request ids: a proxy's ``X-Request-Id`` (when it looks like one) or a new one, echoed on
  the response and carried by every log line written while the request runs.
* JSON logs (``PRISM_LOG_FORMAT=json``): one object a line with time, level, logger,
  message and request id. Nothing here logs request bodies, query strings, tokens or
  addresses; uvicorn's access log (which names client addresses) stays off.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import re
import uuid
from collections.abc import Iterator
from typing import Any

from litestar import Router
from litestar.enums import ScopeType
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Counter
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from prism.storage.engine import Database

__all__ = [
    "RELAY_PULLS",
    "RELAY_PULL_BYTES",
    "RELAY_PUSHES",
    "RELAY_PUSH_BYTES",
    "JsonFormatter",
    "configure_logging",
    "metrics_middleware",
    "metrics_router",
    "request_id",
    "request_ids",
    "watch_pool",
]

RELAY_PUSHES = Counter("prism_relay_pushes", "Change sets filed by devices")
RELAY_PUSH_BYTES = Counter("prism_relay_push_bytes", "Bytes of sealed change sets filed")
RELAY_PULLS = Counter("prism_relay_pulls", "Pulls answered (long-polls included)")
RELAY_PULL_BYTES = Counter("prism_relay_pull_bytes", "Bytes of sealed change sets sent in pulls")

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("prism_request_id", default=None)
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id() -> str | None:
    """The id of the request being served, if any."""
    return _REQUEST_ID.get()


def request_ids(app: ASGIApp) -> ASGIApp:
    """ASGI middleware: give each HTTP request an id, echo it, and expose it to the logs."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        ident = given if _GOOD_ID.match(given) else uuid.uuid4().hex
        token = _REQUEST_ID.set(ident)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"x-request-id", ident.encode())]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            _REQUEST_ID.reset(token)

    return middleware


def metrics_middleware() -> Any:
    """Litestar's Prometheus middleware: request counts and latencies by route template."""
    return PrometheusConfig(app_name="prism", prefix="prism", group_path=True, exclude=["/metrics"]).middleware


def metrics_router() -> Router:
    """``GET /metrics``, left out of the OpenAPI document (it is for the operator)."""
    return Router("/", route_handlers=[PrometheusController], include_in_schema=False)


class _PoolCollector(Collector):
    """Database connections in use, summed over this process's open databases."""

    def __init__(self) -> None:
        self.databases: list[Database] = []

    def watch(self, database: Database) -> None:
        self.databases = [d for d in self.databases if not d.closed] + [database]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("prism_database_connections_in_use", "Connections checked out of the pools")
        family.add_metric([], float(sum(d.connections_in_use() for d in self.databases if not d.closed)))
        yield family


_POOLS = _PoolCollector()
REGISTRY.register(_POOLS)


def watch_pool(database: Database) -> None:
    """Count ``database``'s connections in ``/metrics`` while it is open."""
    _POOLS.watch(database)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        ident = request_id()
        if ident is not None:
            entry["request_id"] = ident
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str, level: str = "INFO") -> None:
    """Send the process's logs to stderr, as JSON lines (``json``) or plain text: Prism's
    own from ``level`` up, other libraries' warnings and errors (an HTTP client's request
    lines would name URLs)."""
    handler = logging.StreamHandler()
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("prism").setLevel(level)
