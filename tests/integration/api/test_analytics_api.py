"""Value history and performance over HTTP, on SQLite and PostgreSQL.

The same worked example as tests/integration/lake/test_value_history.py, entered
through the API: prices through ``POST /market/prices``, the ledger through
``POST /transactions``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]
ISIN = "IE00B4L5Y983"


async def _post(client: Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(f"/api/v1{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _example(client: Client) -> str:
    portfolio = await _post(client, "/portfolios", {"name": "Broker", "base_currency": "EUR"})
    asset = await _post(client, "/assets", {"isin": ISIN, "name": "World", "kind": "etf", "currency": "EUR"})
    closes = [("2024-01-01", "100"), ("2024-01-02", "110"), ("2024-01-03", "99"), ("2024-01-04", "121")]
    rows = [{"isin": ISIN, "date": day, "close": close, "currency": "EUR"} for day, close in closes]
    await _post(client, "/market/prices", {"rows": rows})
    trades: list[dict[str, Any]] = [
        {"type": "deposit", "date": "2024-01-01", "amount": "2000"},
        {"type": "buy", "date": "2024-01-01", "asset_id": asset["id"], "quantity": "5", "price": "100"},
        {"type": "buy", "date": "2024-01-02", "asset_id": asset["id"], "quantity": "5", "price": "110"},
        {"type": "sell", "date": "2024-01-03", "asset_id": asset["id"], "quantity": "4", "price": "99", "fee": "1"},
        {"type": "withdrawal", "date": "2024-01-04", "amount": "100"},
        {"type": "dividend", "date": "2024-01-05", "asset_id": asset["id"], "amount": "6", "tax": "1"},
    ]
    for trade in trades:
        await _post(client, "/transactions", {"portfolio_id": portfolio["id"], "currency": "EUR", **trade})
    return str(portfolio["id"])


async def test_value_history_lists_each_day_with_its_flows(client: Client) -> None:
    portfolio = await _example(client)
    response = await client.get(f"/api/v1/portfolios/{portfolio}/value-history")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["currency"] == "EUR"
    assert [(d["date"], d["value"], d["inflow"], d["outflow"]) for d in body["days"]] == [
        ("2024-01-01", "2000", "2000", "0"),
        ("2024-01-02", "2050", "0", "0"),
        ("2024-01-03", "1939", "0", "0"),
        ("2024-01-04", "1971", "0", "100"),
        ("2024-01-05", "1976", "0", "0"),
    ]
    window = (await client.get(f"/api/v1/portfolios/{portfolio}/value-history?start=2024-01-02&end=2024-01-03")).json()
    assert [d["date"] for d in window["days"]] == ["2024-01-02", "2024-01-03"]
    overall = (await client.get("/api/v1/value-history")).json()
    assert [d["value"] for d in overall["days"]] == [d["value"] for d in body["days"]]


async def test_performance_reports_every_promised_field(client: Client) -> None:
    portfolio = await _example(client)
    response = await client.get(f"/api/v1/portfolios/{portfolio}/performance?cost_method=average")
    assert response.status_code == 200, response.text
    body = response.json()
    expected = Fraction(2071, 2000) * Fraction(1976, 1971) - 1
    assert abs(Fraction(Decimal(body["ttwror"])) - expected) <= Fraction(1, 10**12)
    assert (body["realized_gain"], body["unrealized_gain"]) == ("-25", "96")
    assert (body["dividends"], body["fees"], body["taxes"]) == ("6", "1", "1")
    for name in (
        "ttwror_annualized",
        "irr",
        "dividend_yield",
        "volatility",
        "max_drawdown",
        "max_drawdown_duration_days",
        "recovery_date",
    ):
        assert body[name] is not None, name
    assert body["recovery_date"] == "2024-01-04"
    overall = (await client.get("/api/v1/performance")).json()
    assert overall["ttwror"] == body["ttwror"]


async def test_bad_periods_and_strangers_get_problem_details(client: Client) -> None:
    portfolio = await _example(client)
    backwards = await client.get(f"/api/v1/portfolios/{portfolio}/performance?start=2024-01-04&end=2024-01-02")
    assert backwards.status_code == 422
    assert backwards.headers["content-type"].startswith("application/problem+json")
    assert "end" in backwards.text
    garbled = await client.get(f"/api/v1/portfolios/{portfolio}/value-history?start=yesterday")
    assert garbled.status_code == 400
    assert "start" in garbled.text
    missing = await client.get(f"/api/v1/portfolios/{uuid.uuid4()}/value-history")
    assert missing.status_code == 404


async def test_a_new_account_has_an_empty_history(client: Client) -> None:
    body = (await client.get("/api/v1/value-history")).json()
    assert body["days"] == []
    performance = (await client.get("/api/v1/performance")).json()
    assert (performance["ttwror"], performance["irr"], performance["start"]) == ("0", None, None)


async def test_a_period_from_the_first_day_there_is_answers(client: Client) -> None:
    # The opening day is the day before the start; before 0001-01-01 there is none.
    answered = await client.get("/api/v1/value-history?start=0001-01-01")
    assert answered.status_code == 200, answered.text
