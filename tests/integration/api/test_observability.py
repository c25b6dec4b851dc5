"""What an operator sees: Prometheus metrics, request ids on responses and in JSON logs."""

from __future__ import annotations

import json
import logging

from litestar.testing import AsyncTestClient

from prism.api.observability import JsonFormatter, request_ids


async def test_metrics_count_requests_by_route_template_and_database_connections(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    made = await client.post("/api/v1/portfolios", json={"name": "Main", "base_currency": "EUR"})
    await client.get(f"/api/v1/portfolios/{made.json()['id']}")
    metrics = (await client.get("/metrics")).text
    assert 'method="GET",path="/api/v1/portfolios/{portfolio_id}",status_code="200"' in metrics
    assert made.json()["id"] not in metrics  # ids never become labels
    assert "prism_requests_total" in metrics
    assert "prism_database_connections_in_use" in metrics
    assert "prism_relay_pushes_total" in metrics


async def test_metrics_are_not_in_the_api_document(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    spec = (await client.get("/schema/openapi.json")).json()
    assert "/metrics" not in spec["paths"]


async def test_a_request_id_is_echoed_and_a_malformed_one_replaced(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    given = await client.get("/healthz", headers={"X-Request-Id": "proxy-7f3a"})
    assert given.headers["x-request-id"] == "proxy-7f3a"
    odd = await client.get("/healthz", headers={"X-Request-Id": "<script>"})
    assert odd.headers["x-request-id"] != "<script>"
    assert len(odd.headers["x-request-id"]) == 32
    fresh = [(await client.get("/healthz")).headers["x-request-id"] for _ in range(2)]
    assert fresh[0] != fresh[1]


async def test_json_log_lines_carry_the_request_id_of_the_request_being_served() -> None:
    lines: list[str] = []
    formatter = JsonFormatter()

    async def app(scope: object, receive: object, send: object) -> None:
        record = logging.LogRecord("prism.api", logging.WARNING, __file__, 1, "slow %s", ("holdings",), None)
        lines.append(formatter.format(record))

    async def send(message: object) -> None:
        del message

    scope = {"type": "http", "headers": [(b"x-request-id", b"abc123")]}
    await request_ids(app)(scope, None, send)  # type: ignore[arg-type]
    entry = json.loads(lines[0])
    assert (entry["message"], entry["level"], entry["request_id"]) == ("slow holdings", "warning", "abc123")
    assert entry["time"].endswith("Z")
