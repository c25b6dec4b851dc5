"""``/market`` on both databases: imports answer with a report, or 4xx naming the field and write nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings

Client = AsyncTestClient  # type: ignore[type-arg]
APPLE, MICROSOFT, WORLD = "US0378331005", "US5949181045", "IE00B4L5Y983"


def _close(day: str, close: str, isin: str = APPLE) -> dict[str, str]:
    return {"isin": isin, "date": day, "close": close, "currency": "USD"}


async def _stored(client: Client, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/market/prices{query}")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_imported_prices_are_reported_and_read_back(client: Client) -> None:
    rows = [_close("2024-01-02", "185.64"), _close("2024-01-03", "184.250"), _close("2024-01-02", "80", WORLD)]
    response = await client.post("/api/v1/market/prices", json={"rows": rows})
    assert response.status_code == 201, response.text
    report = response.json()
    assert (report["dataset"], report["rows"], report["version"], report["earliest"]) == ("prices", 3, 1, "2024-01-02")
    assert report["isins"] == [WORLD, APPLE]
    assert {w["field"] for w in report["warnings"]} == {"rows[0].isin", "rows[2].isin"}
    assert await _stored(client, f"?isin={APPLE}") == [
        {"isin": APPLE, "date": "2024-01-02", "close": "185.64", "currency": "USD"},
        {"isin": APPLE, "date": "2024-01-03", "close": "184.25", "currency": "USD"},
    ]
    assert [p["date"] for p in await _stored(client, f"?isin={APPLE}&start=2024-01-03")] == ["2024-01-03"]


async def test_isins_of_the_catalog_import_without_warnings(client: Client) -> None:
    asset = {"isin": APPLE, "name": "Apple", "kind": "stock", "currency": "USD"}
    assert (await client.post("/api/v1/assets", json=asset)).status_code == 201
    response = await client.post("/api/v1/market/prices", json={"rows": [_close("2024-01-02", "1")]})
    assert response.json()["warnings"] == []


async def test_price_pages_follow_the_cursor(client: Client) -> None:
    days = ["2024-01-02", "2024-01-03", "2024-01-04"]
    await client.post("/api/v1/market/prices", json={"rows": [_close(day, "1") for day in days]})
    seen, cursor = [], None
    while True:
        page = (
            await client.get("/api/v1/market/prices", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        ).json()
        seen += [item["date"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == days


async def test_a_rejected_import_lists_every_problem_and_writes_nothing(client: Client) -> None:
    rows = [_close("2024-01-02", "1"), _close("2024-01-03", "-5"), _close("2024-01-02", "2"), _close("2024-01-04", "0")]
    rows[3]["isin"] = "US0378331006"
    response = await client.post("/api/v1/market/prices", json={"rows": rows})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"] == [
        {"field": "rows[1].close", "message": "must be positive, not -5"},
        {"field": "rows[2].date", "message": "repeats the ISIN and date of rows[0]"},
        {"field": "rows[3].isin", "message": "'US0378331006' has a wrong check digit"},
        {"field": "rows[3].close", "message": "must be positive, not 0"},
    ]
    assert problem["detail"].startswith("4 problem(s); first: rows[1].close")
    assert await _stored(client) == []


async def test_malformed_bodies_are_400_naming_the_field(client: Client) -> None:
    as_number = await client.post("/api/v1/market/prices", json={"rows": [{**_close("2024-01-02", "1"), "close": 1.5}]})
    assert as_number.status_code == 400
    assert as_number.json()["errors"][0]["field"] == "rows[0].close"
    bad_date = await client.post("/api/v1/market/prices", json={"rows": [_close("2024-02-30", "1")]})
    assert bad_date.status_code == 400
    assert bad_date.json()["errors"][0]["field"] == "rows[0].date"
    empty = await client.post("/api/v1/market/prices", json={"rows": []})
    assert empty.status_code == 400
    bad_query = await client.get("/api/v1/market/prices?isin=NOPE")
    assert bad_query.status_code == 422
    assert bad_query.json()["errors"][0]["field"] == "isin"
    assert await _stored(client) == []


async def test_fx_rates_import_by_pair_or_base_and_quote(client: Client) -> None:
    rows = [
        {"pair": "EURUSD", "date": "2024-01-02", "rate": "1.0956"},
        {"base": "GBP", "quote": "EUR", "date": "2024-01-02", "rate": "1.1527"},
    ]
    response = await client.post("/api/v1/market/fx", json={"rows": rows})
    assert response.status_code == 201, response.text
    assert response.json()["pairs"] == ["EURUSD", "GBPEUR"]
    bad = await client.post("/api/v1/market/fx", json={"rows": [{"pair": "EURUSD", "date": "2024-01-02", "rate": "0"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"] == [{"field": "rows[0].rate", "message": "must be positive, not 0"}]


async def test_etf_compositions_in_percent_are_converted_and_reported(client: Client) -> None:
    rows = [
        {"fund_isin": WORLD, "as_of": "2024-06-28", "constituent_isin": APPLE, "weight": "60"},
        {"fund_isin": WORLD, "as_of": "2024-06-28", "constituent_isin": MICROSOFT, "weight": "30"},
    ]
    response = await client.post("/api/v1/market/etf-holdings", json={"rows": rows})
    assert response.status_code == 201, response.text
    messages = [w["message"] for w in response.json()["warnings"]]
    assert f"weights of {WORLD} on 2024-06-28 sum to 90: read as percent" in messages
    assert f"weights of {WORLD} on 2024-06-28 sum to 90%, 10 points short of 100%" in messages
    nameless = [{"fund_isin": WORLD, "as_of": "2024-06-28", "weight_pct": "100"}]
    refused = await client.post("/api/v1/market/etf-holdings", json={"rows": nameless})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "rows[0].constituent_name"


async def test_a_hosted_server_refuses_market_writes_from_accounts(database_url: str, tmp_path: Path) -> None:
    """Market data is shared by every account of a hosted server; only its operator imports it."""
    settings = load_settings({"PRISM_MODE": "hosted"}, data_dir=tmp_path, database_url=database_url)
    async with AsyncTestClient(create_app(settings)) as client:
        signup = {"email": "someone@example.org", "password": "correct horse battery"}
        token = (await client.post("/api/v1/auth/signup", json=signup)).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        rows = [{"isin": "IE00B4L5Y983", "date": "2024-01-02", "close": "80", "currency": "EUR"}]
        response = await client.post("/api/v1/market/prices", json={"rows": rows})
        assert response.status_code == 403
        assert response.json()["type"] == "urn:prism:problem:forbidden"
        assert (await client.get("/api/v1/market/prices")).json()["items"] == []


async def test_a_price_import_sets_off_the_alerts_it_crosses(client: Client) -> None:
    body = {"isin": "IE00B4L5Y983", "name": "World", "kind": "etf", "currency": "EUR"}
    asset = (await client.post("/api/v1/assets", json=body)).json()
    rule = {"condition": "price_above", "threshold": "100", "asset_id": asset["id"]}
    assert (await client.post("/api/v1/alert-rules", json=rule)).status_code == 201
    closes = [("2024-03-01", "90"), ("2024-03-04", "110")]
    rows = [{"isin": "IE00B4L5Y983", "date": day, "close": close, "currency": "EUR"} for day, close in closes]
    imported = await client.post("/api/v1/market/prices", json={"rows": rows})
    assert imported.status_code == 201, imported.text
    assert imported.json()["alerts_triggered"] == 1
    alerts = (await client.get("/api/v1/alerts")).json()["items"]
    assert [(a["day"], a["observed"]) for a in alerts] == [("2024-03-04", "110")]
    again = await client.post("/api/v1/market/prices", json={"rows": rows})
    assert again.json()["alerts_triggered"] == 0  # the same crossing is not reported twice
