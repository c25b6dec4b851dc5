"""The ledger over HTTP, on SQLite and PostgreSQL: exact, validated, problem details."""

from __future__ import annotations

import uuid
from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


async def _portfolio(client: Client, name: str = "Broker", currency: str = "EUR") -> dict[str, Any]:
    response = await client.post("/api/v1/portfolios", json={"name": name, "base_currency": currency})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _asset(client: Client, isin: str = "IE00B4L5Y983") -> dict[str, Any]:
    body = {"isin": isin, "name": "iShares Core MSCI World", "kind": "etf", "currency": "EUR"}
    response = await client.post("/api/v1/assets", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_record_trades_and_read_exact_holdings(client: Client) -> None:
    portfolio, asset = await _portfolio(client), await _asset(client)
    trades = [
        ("buy", "2024-01-02", "10", "80.10"),
        ("buy", "2024-02-01", "10", "90"),
        ("sell", "2024-03-01", "15", "100"),
    ]
    for kind, day, quantity, price in trades:
        body = {
            "portfolio_id": portfolio["id"],
            "type": kind,
            "date": day,
            "asset_id": asset["id"],
            "quantity": quantity,
            "price": price,
            "fee": "1",
            "currency": "EUR",
        }
        response = await client.post("/api/v1/transactions", json=body)
        assert response.status_code == 201, response.text
    fifo = (await client.get(f"/api/v1/portfolios/{portfolio['id']}/holdings")).json()["items"]
    average = (await client.get(f"/api/v1/portfolios/{portfolio['id']}/holdings?cost_method=average")).json()["items"]
    assert fifo[0]["quantity"] == "5"
    assert fifo[0]["cost_basis"] == "450.5"
    assert fifo[0]["isin"] == "IE00B4L5Y983"
    assert fifo[0]["market_value"] == "500"
    assert average[0]["cost_basis"] == "425.75"  # (802 + 901) / 20 x 5
    overall = (await client.get("/api/v1/holdings")).json()["items"]
    assert [h["quantity"] for h in overall] == ["5"]


async def test_transactions_filter_and_page_with_cursors(client: Client) -> None:
    portfolio = await _portfolio(client)
    for day in range(1, 8):
        body = {
            "portfolio_id": portfolio["id"],
            "type": "deposit",
            "date": f"2024-01-0{day}",
            "amount": "10",
            "currency": "EUR",
        }
        assert (await client.post("/api/v1/transactions", json=body)).status_code == 201
    seen, cursor = [], None
    while True:
        query = "?limit=3&start=2024-01-02" + (f"&cursor={cursor}" if cursor else "")
        page = (await client.get(f"/api/v1/transactions{query}")).json()
        seen += [t["date"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"2024-01-0{day}" for day in range(2, 8)]


async def test_importing_the_same_external_id_twice_is_a_conflict(client: Client) -> None:
    portfolio = await _portfolio(client)
    body = {
        "portfolio_id": portfolio["id"],
        "type": "deposit",
        "date": "2024-01-01",
        "amount": "10",
        "currency": "EUR",
        "source": "broker",
        "external_id": "T-1",
    }
    first = await client.post("/api/v1/transactions", json=body)
    second = await client.post("/api/v1/transactions", json=body)
    assert first.status_code == 201
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")


async def test_bad_input_gets_a_problem_naming_the_field_and_writes_nothing(client: Client) -> None:
    portfolio = await _portfolio(client)
    asset = await _asset(client)
    base = {
        "portfolio_id": portfolio["id"],
        "type": "buy",
        "date": "2024-01-02",
        "asset_id": asset["id"],
        "quantity": "1",
        "price": "1",
        "currency": "EUR",
    }
    cases = [
        ({**base, "quantity": "-1"}, 422, "quantity"),
        ({**base, "currency": "EURO"}, 422, "currency"),
        ({**base, "type": "sell", "quantity": "5"}, 422, "quantity"),
        ({**base, "type": "split", "ratio": "0", "quantity": None, "price": None}, 422, "ratio"),
        ({**base, "asset_id": "00000000-0000-0000-0000-000000000001"}, 422, "asset_id"),
        ({**base, "price": "NaN"}, 400, "price"),
        ({**base, "colour": "red"}, 400, "colour"),
        ({**base, "date": "yesterday"}, 400, "date"),
    ]
    for body, status, field in cases:
        response = await client.post("/api/v1/transactions", json=body)
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == status
        assert field in [e["field"] for e in problem.get("errors", [])], problem
    bad_isin = await client.post(
        "/api/v1/assets", json={"isin": "US0378331006", "name": "x", "kind": "stock", "currency": "USD"}
    )
    assert bad_isin.status_code == 422
    assert bad_isin.json()["errors"][0]["field"] == "isin"
    malformed = await client.post(
        "/api/v1/portfolios", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 400
    assert (await client.get("/api/v1/transactions")).json()["items"] == []


async def test_decimals_travel_as_strings_and_numbers_are_refused(client: Client) -> None:
    portfolio = await _portfolio(client)
    body = {"portfolio_id": portfolio["id"], "type": "deposit", "date": "2024-01-01", "currency": "EUR"}
    exact = await client.post("/api/v1/transactions", json={**body, "amount": "0.1000000000000000055511151231257827"})
    assert exact.json()["amount"] == "0.1000000000000000055511151231257827"
    number = await client.post("/api/v1/transactions", json={**body, "amount": 0.1})
    assert number.status_code == 400
    assert number.json()["errors"][0]["field"] == "amount"


async def test_unknown_ids_are_404_problems(client: Client) -> None:
    missing = "00000000-0000-0000-0000-000000000002"
    for path in (
        f"/api/v1/portfolios/{missing}",
        f"/api/v1/assets/{missing}",
        f"/api/v1/transactions/{missing}",
        f"/api/v1/portfolios/{missing}/holdings",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.json()["type"] == "urn:prism:problem:not-found"


async def test_oversized_bodies_are_refused(client: Client) -> None:
    response = await client.post(
        "/api/v1/portfolios",
        content=b'{"name": "' + b"x" * (2 << 20) + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_every_api_route_needs_the_token(client: Client) -> None:
    anonymous = {"Authorization": ""}
    assert (await client.get("/api/v1/portfolios", headers=anonymous)).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (await client.get("/api/v1/holdings", headers=wrong)).status_code == 401
    assert (await client.get("/healthz", headers=anonymous)).status_code == 200
    assert (await client.get("/readyz", headers=anonymous)).json() == {"status": "ready"}


async def test_crud_of_portfolios_assets_and_settings(client: Client) -> None:
    portfolio = await _portfolio(client, "Old name")
    renamed = await client.put(f"/api/v1/portfolios/{portfolio['id']}", json={"name": "New", "base_currency": "USD"})
    assert renamed.json()["name"] == "New"
    asset = await _asset(client)
    again = await client.post(
        "/api/v1/assets", json={"isin": "IE00B4L5Y983", "name": "dup", "kind": "etf", "currency": "EUR"}
    )
    assert again.status_code == 409
    changed = await client.put(
        f"/api/v1/assets/{asset['id']}",
        json={"isin": "IE00B4L5Y983", "name": "World", "kind": "etf", "currency": "EUR", "ticker": "EUNL"},
    )
    assert changed.json()["ticker"] == "EUNL"
    setting = await client.put("/api/v1/settings/hive_contribution_enabled", json={"type": "bool", "value": True})
    assert setting.json() == {"key": "hive_contribution_enabled", "type": "bool", "value": True}
    assert (await client.delete(f"/api/v1/assets/{asset['id']}")).status_code == 204
    assert (await client.delete(f"/api/v1/portfolios/{portfolio['id']}")).status_code == 204
    assert (await client.get("/api/v1/portfolios")).json() == {"items": [], "next_cursor": None}


async def test_openapi_spec_is_served(client: Client) -> None:
    spec = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/portfolios/{portfolio_id}/holdings" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_holdings_follow_writes_made_by_another_process(client: Client, database_url: str) -> None:
    from prism.config import DatabaseSettings
    from prism.storage.catalog import device_account
    from prism.storage.engine import open_database
    from prism.storage.ledger import record_transaction
    from tests.builders import entry

    portfolio, asset = await _portfolio(client), await _asset(client)
    url = f"/api/v1/portfolios/{portfolio['id']}/holdings"
    body = {
        "portfolio_id": portfolio["id"],
        "type": "buy",
        "date": "2024-01-02",
        "asset_id": asset["id"],
        "quantity": "2",
        "price": "10",
        "currency": "EUR",
    }
    await client.post("/api/v1/transactions", json=body)
    assert [h["quantity"] for h in (await client.get(url)).json()["items"]] == ["2"]
    assert [h["quantity"] for h in (await client.get(url)).json()["items"]] == ["2"]  # served again
    other = open_database(DatabaseSettings(url=database_url))  # e.g. `prism` run beside the server
    owner = await other.read(device_account)
    buy = entry(
        uuid.UUID(portfolio["id"]), "buy", "2024-01-03", asset_id=uuid.UUID(asset["id"]), quantity="3", price="11"
    )
    await other.write(record_transaction, owner, buy)
    await other.dispose()
    assert [h["quantity"] for h in (await client.get(url)).json()["items"]] == ["5"]
    spec = (await client.get("/schema/openapi.json")).json()
    documented = spec["paths"]["/api/v1/portfolios/{portfolio_id}/holdings"]["get"]["responses"]["200"]
    assert "HoldingPage" in str(documented)


async def test_a_transaction_history_is_its_audit_trail(client: Client) -> None:
    portfolio = await _portfolio(client)
    body = {"portfolio_id": portfolio["id"], "type": "deposit", "date": "2024-01-01", "amount": "10", "currency": "EUR"}
    made = (await client.post("/api/v1/transactions", json=body)).json()
    await client.put(f"/api/v1/transactions/{made['id']}", json={**body, "amount": "12", "note": "typo"})
    await client.delete(f"/api/v1/transactions/{made['id']}")
    trail = (await client.get(f"/api/v1/transactions/{made['id']}/history")).json()["items"]
    assert [c["op"] for c in trail] == ["insert", "update", "delete"]
    assert trail[1]["columns"] == {"amount": "12", "note": "typo"}
    missing = await client.get("/api/v1/transactions/00000000-0000-0000-0000-000000000003/history")
    assert missing.status_code == 404
