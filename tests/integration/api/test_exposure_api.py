"""Exposure, overlap and alert routes on both databases; another account's portfolio is 404."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from litestar.testing import AsyncTestClient

from prism.api.state import api_state
from prism.config import DatabaseSettings
from prism.storage.alert_events import AlertEvent, record_alert_events
from prism.storage.engine import open_database
from prism.storage.lake import ETF_HOLDINGS, PRICES, write_rows
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]
FUND, STOCK = "IE00B4L5Y983", "US0378331005"


async def _made(client: Client, path: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = await client.post(path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def _fund_portfolio(client: Client, headers: dict[str, str] | None = None) -> str:
    """A portfolio holding 10 of a fund that is 70% one stock, priced at 100 EUR."""
    portfolio = await _made(client, "/api/v1/portfolios", {"name": "Main", "base_currency": "EUR"}, headers)
    fund = await _made(
        client, "/api/v1/assets", {"isin": FUND, "name": "World", "kind": "etf", "currency": "EUR"}, headers
    )
    trade = {"portfolio_id": portfolio["id"], "type": "buy", "date": "2024-01-02", "asset_id": fund["id"]}
    await _made(client, "/api/v1/transactions", {**trade, "quantity": "10", "price": "90", "currency": "EUR"}, headers)
    lake = api_state(client.app).lake
    day = dt.date(2024, 3, 1)
    write_rows(lake, PRICES, pa.table({"isin": [FUND], "date": [day], "close": [Decimal(100)], "currency": ["EUR"]}))
    write_rows(
        lake,
        ETF_HOLDINGS,
        pa.table(
            {
                "fund_isin": [FUND],
                "as_of": [day],
                "constituent_isin": [STOCK],
                "constituent_name": ["Apple"],
                "weight": [Decimal("0.7")],
                "country": ["US"],
                "sector": ["Technology"],
                "currency": ["USD"],
                "asset_class": ["Equity"],
            }
        ),
    )
    return str(portfolio["id"])


async def test_exposure_of_a_portfolio_and_of_all(client: Client) -> None:
    portfolio = await _fund_portfolio(client)
    one = (
        await client.get(f"/api/v1/portfolios/{portfolio}/exposure", params={"by": "country", "date": "2024-03-15"})
    ).json()
    assert one["currency"] == "EUR"
    assert one["total"] == "1000.00"
    assert one["groups"] == [{"key": "US", "label": "US", "value": "700.00", "weight": "0.700000"}]
    assert one["unresolved"] == {"value": "300.00", "weight": "0.300000"}
    assert one["as_of"] == {
        "prices_from": "2024-03-01",
        "prices_to": "2024-03-01",
        "compositions": [{"fund": FUND, "as_of": "2024-03-01"}],
    }
    every = (await client.get("/api/v1/exposure", params={"date": "2024-03-15"})).json()
    assert every["by"] == "security"
    assert [(g["key"], g["label"], g["value"]) for g in every["groups"]] == [(STOCK, "Apple", "700.00")]


async def test_a_holding_without_a_close_is_unpriced(client: Client) -> None:
    portfolio = await _fund_portfolio(client)
    found = (await client.get(f"/api/v1/portfolios/{portfolio}/exposure", params={"date": "2024-02-01"})).json()
    assert found["groups"] == []
    assert [(u["isin"], u["quantity"], u["reason"]) for u in found["unpriced"]] == [(FUND, "10", "no close")]


@pytest.mark.parametrize(("params", "field"), [({"by": "colour"}, "by"), ({"date": "2024-13-01"}, "date")])
async def test_a_bad_query_is_a_400_naming_the_field(client: Client, params: dict[str, str], field: str) -> None:
    response = await client.get("/api/v1/exposure", params=params)
    assert response.status_code == 400, response.text
    assert field in [error["field"] for error in response.json()["errors"]]


async def test_an_unknown_portfolio_is_404(client: Client) -> None:
    for path in ("exposure", "exposure/overlap"):
        response = await client.get(f"/api/v1/portfolios/{uuid.uuid4()}/{path}")
        assert response.status_code == 404, response.text


async def test_overlap_lists_the_held_funds(client: Client) -> None:
    portfolio = await _fund_portfolio(client)
    found = (await client.get(f"/api/v1/portfolios/{portfolio}/exposure/overlap", params={"date": "2024-03-15"})).json()
    assert found["funds"] == [FUND]
    assert found["pairs"] == []
    assert found["securities"] == []
    assert (await client.get("/api/v1/exposure/overlap")).status_code == 200


async def test_alerts_are_listed_newest_first_a_page_at_a_time(client: Client, database_url: str) -> None:
    owner = api_state(client.app).device_owner
    assert owner is not None
    start = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    events = [
        AlertEvent(
            owner,
            uuid.uuid4(),
            dt.date(2024, 4, day),
            "price_above",
            Decimal(1),
            Decimal(day),
            "EUR",
            None,
            None,
            start + dt.timedelta(minutes=day),
        )
        for day in range(1, 6)
    ]
    database = open_database(DatabaseSettings(url=database_url))  # the app's own runs on its own loop
    try:
        assert await database.write(record_alert_events, events) == 5
    finally:
        await database.dispose()
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/alerts", params=params)).json()
        seen += [item["day"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"2024-04-0{day}" for day in range(5, 0, -1)]
    assert (await client.get("/api/v1/alerts", params={"cursor": "nonsense"})).json()["errors"][0]["field"] == "cursor"


async def test_another_accounts_portfolio_is_404_and_its_holdings_stay_out(hosted: Client) -> None:
    alice = await sign_up(hosted, "alice@example.org")
    mallory = await sign_up(hosted, "mallory@example.org")
    portfolio = await _fund_portfolio(hosted, alice)
    for path in ("exposure", "exposure/overlap"):
        response = await hosted.get(f"/api/v1/portfolios/{portfolio}/{path}", headers=mallory)
        assert response.status_code == 404, response.text
    theirs = (await hosted.get("/api/v1/exposure", params={"date": "2024-03-15"}, headers=mallory)).json()
    assert (theirs["total"], theirs["groups"], theirs["unpriced"]) == ("0.00", [], [])
    mine = (await hosted.get("/api/v1/exposure", params={"date": "2024-03-15"}, headers=alice)).json()
    assert mine["total"] == "1000.00"
