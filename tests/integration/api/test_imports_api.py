"""``POST /api/v1/imports`` on SQLite and PostgreSQL: the report, every bad row, nothing half-written."""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]
WORLD = "IE00B4L5Y983"
CSV = (
    "date;type;isin;name;quantity;price;fee;currency\n"
    f"2024-01-03;buy;{WORLD};iShares Core MSCI World;10;80,50;1;EUR\n"
    f"2024-02-01;sell;{WORLD};iShares Core MSCI World;4;90;1;EUR\n"
)


async def _portfolio(client: Client) -> str:
    response = await client.post("/api/v1/portfolios", json={"name": "Main", "base_currency": "EUR"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _import(client: Client, **body: Any) -> Any:
    return await client.post("/api/v1/imports", json={"format": "generic", **body})


async def _transactions(client: Client) -> list[dict[str, Any]]:
    return (await client.get("/api/v1/transactions")).json()["items"]  # type: ignore[no-any-return]


async def test_a_file_imports_once_and_answers_its_report(client: Client) -> None:
    portfolio = await _portfolio(client)
    first = await _import(client, portfolio_id=portfolio, content=CSV)
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["imported"], report["assets_created"], report["by_type"]) == (2, 1, {"buy": 1, "sell": 1})
    again = (await _import(client, portfolio_id=portfolio, content=CSV)).json()
    assert (again["imported"], again["already_imported"]) == (0, 2)
    stored = await _transactions(client)
    assert [(t["type"], t["quantity"], t["price"], t["source"]) for t in stored] == [
        ("buy", "10", "80.5", "generic"),
        ("sell", "4", "90", "generic"),
    ]
    holdings = (await client.get(f"/api/v1/portfolios/{portfolio}/holdings")).json()["items"]
    assert holdings[0]["quantity"] == "6"


async def test_every_bad_row_is_named_and_nothing_is_written(client: Client) -> None:
    portfolio = await _portfolio(client)
    bad = CSV.replace("80,50", "8O,50").replace("sell;IE00B4L5Y983;iShares Core MSCI World;4", "sell;IE00B4L5Y983;x;40")
    response = await _import(client, portfolio_id=portfolio, content=bad)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"] == "urn:prism:problem:invalid-import"
    fields = [error["field"] for error in body["errors"]]
    assert fields == ["line 2: price", "line 3: quantity"]
    assert await _transactions(client) == []


async def test_skip_invalid_imports_the_good_rows_and_reports_the_rest(client: Client) -> None:
    portfolio = await _portfolio(client)
    bad = CSV.replace("sell;IE00B4L5Y983;iShares Core MSCI World;4", "sell;IE00B4L5Y983;x;40")
    response = await _import(client, portfolio_id=portfolio, content=bad, skip_invalid=True)
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["imported"], report["skipped"]) == (1, 1)
    assert report["problems"][0]["row"] == "line 3"
    assert report["problems"][0]["column"] == "quantity"


async def test_a_dry_run_answers_the_report_and_writes_nothing(client: Client) -> None:
    portfolio = await _portfolio(client)
    response = await _import(client, portfolio_id=portfolio, content=CSV, dry_run=True)
    assert response.status_code == 200, response.text
    assert (response.json()["dry_run"], response.json()["imported"]) == (True, 2)
    assert await _transactions(client) == []


async def test_a_ghostfolio_export_travels_as_base64(client: Client) -> None:
    portfolio = await _portfolio(client)
    export = {
        "activities": [
            {
                "id": "g-1",
                "type": "BUY",
                "date": "2024-01-02T23:00:00.000Z",
                "symbol": WORLD,
                "quantity": 2,
                "unitPrice": 80.25,
                "fee": 0,
                "currency": "EUR",
                "dataSource": "YAHOO",
            },
        ]
    }
    encoded = base64.b64encode(json.dumps(export).encode()).decode()
    response = await client.post(
        "/api/v1/imports", json={"format": "ghostfolio", "portfolio_id": portfolio, "content_base64": encoded}
    )
    assert response.status_code == 201, response.text
    (stored,) = await _transactions(client)
    assert (stored["date"], stored["price"], stored["external_id"]) == ("2024-01-03", "80.25", "g-1")


async def test_malformed_requests_name_the_field(client: Client) -> None:
    portfolio = await _portfolio(client)
    unknown = await client.post("/api/v1/imports", json={"format": "qif", "portfolio_id": portfolio, "content": CSV})
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "format"
    both = await _import(client, portfolio_id=portfolio, content=CSV, content_base64="eA==")
    assert both.json()["errors"][0]["field"] == "content"
    not_base64 = await _import(client, portfolio_id=portfolio, content_base64="***")
    assert not_base64.json()["errors"][0]["field"] == "content_base64"
    missing = await _import(client, portfolio_id="00000000-0000-0000-0000-000000000001", content=CSV)
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "portfolio_id"
