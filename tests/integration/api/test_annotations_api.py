"""Notes, tags and alert rules over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

Client = AsyncTestClient  # type: ignore[type-arg]


async def _portfolio_id(client: Client) -> str:
    response = await client.post("/api/v1/portfolios", json={"name": "Broker", "base_currency": "EUR"})
    return str(response.json()["id"])


async def test_notes_about_a_portfolio(client: Client) -> None:
    portfolio = await _portfolio_id(client)
    made = await client.post(
        "/api/v1/notes", json={"body": "rebalance in May", "entity_type": "portfolio", "entity_id": portfolio}
    )
    assert made.status_code == 201, made.text
    note = made.json()
    changed = await client.put(
        f"/api/v1/notes/{note['id']}",
        json={"body": "rebalance in June", "title": "Plan", "entity_type": "portfolio", "entity_id": portfolio},
    )
    assert changed.json()["title"] == "Plan"
    about = await client.get(f"/api/v1/notes?entity_id={portfolio}")
    assert [n["body"] for n in about.json()["items"]] == ["rebalance in June"]
    dangling = await client.post("/api/v1/notes", json={"body": "x", "entity_type": "asset", "entity_id": portfolio})
    assert dangling.status_code == 422
    assert dangling.json()["errors"][0]["field"] == "entity_id"
    assert (await client.delete(f"/api/v1/notes/{note['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/notes/{note['id']}")).status_code == 404


async def test_tags_converge_by_name_and_attach(client: Client) -> None:
    portfolio = await _portfolio_id(client)
    tag = (await client.post("/api/v1/tags", json={"name": "Dividend", "color": "#00aa00"})).json()
    duplicate = await client.post("/api/v1/tags", json={"name": " dividend "})
    assert duplicate.status_code == 409
    bad_colour = await client.post("/api/v1/tags", json={"name": "x", "color": "green"})
    assert bad_colour.json()["errors"][0]["field"] == "color"
    body = {"entity_type": "portfolio", "entity_id": portfolio}
    first = (await client.post(f"/api/v1/tags/{tag['id']}/taggings", json=body)).json()
    again = (await client.post(f"/api/v1/tags/{tag['id']}/taggings", json=body)).json()
    assert first["id"] == again["id"]
    listed = (await client.get(f"/api/v1/tags/{tag['id']}/taggings")).json()["items"]
    assert [t["entity_id"] for t in listed] == [portfolio]
    assert (await client.delete(f"/api/v1/tags/{tag['id']}")).status_code == 204
    assert (await client.get(f"/api/v1/tags/{tag['id']}/taggings")).status_code == 404


async def test_alert_rules_name_one_target(client: Client) -> None:
    portfolio = await _portfolio_id(client)
    rule = {"condition": "value_below", "threshold": "10000.50", "portfolio_id": portfolio, "currency": "eur"}
    made = await client.post("/api/v1/alert-rules", json=rule)
    assert made.status_code == 201, made.text
    assert made.json()["threshold"] == "10000.5"
    assert made.json()["currency"] == "EUR"
    neither = await client.post("/api/v1/alert-rules", json={"condition": "price_above", "threshold": "1"})
    assert neither.status_code == 422
    unknown = await client.post("/api/v1/alert-rules", json={**rule, "condition": "moon_phase"})
    assert unknown.status_code == 400
    changed = await client.put(f"/api/v1/alert-rules/{made.json()['id']}", json={**rule, "enabled": False})
    assert changed.json()["enabled"] is False
    assert len((await client.get("/api/v1/alert-rules")).json()["items"]) == 1
