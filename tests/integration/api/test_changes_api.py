"""The change feed on both databases: order, cursors, scopes, long-poll, resumption after a restart."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import httpx
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings
from tests.integration.api.test_tokens_api import bearer, deposit, new_token, portfolio
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_changes_after_a_cursor_are_the_new_ones_in_order(client: Client) -> None:
    first = await client.get("/api/v1/changes")
    assert first.status_code == 200
    cursor = first.json()["next_cursor"]
    mine = await portfolio(client, "Main")
    await client.post("/api/v1/transactions", json={**deposit(mine), "amount": "10.50"})
    page = (await client.get("/api/v1/changes", params={"after": cursor})).json()
    assert [(c["table"], c["op"]) for c in page["items"]] == [("portfolios", "insert"), ("transactions", "insert")]
    assert page["items"][0]["row_id"] == mine
    assert page["items"][1]["columns"]["amount"] == "10.5"  # a Decimal, as a string
    assert page["next_cursor"] == page["items"][-1]["cursor"]
    # Paging with limit: the same changes, one at a time, in the same order.
    one = (await client.get("/api/v1/changes", params={"after": cursor, "limit": 1})).json()
    two = (await client.get("/api/v1/changes", params={"after": one["next_cursor"], "limit": 1})).json()
    assert [*one["items"], *two["items"]] == page["items"]
    after_all = (await client.get("/api/v1/changes", params={"after": page["next_cursor"]})).json()
    assert after_all == {"items": [], "next_cursor": page["next_cursor"]}


async def test_bad_cursor_wait_and_limit_are_named(client: Client) -> None:
    huge = base64.urlsafe_b64encode(f"{2**70}.abc".encode()).decode()
    cases = (
        ({"after": "%%%"}, "after"),
        ({"after": huge}, "after"),
        ({"wait": "61"}, "wait"),
        ({"limit": "0"}, "limit"),
    )
    for params, field in cases:
        response = await client.get("/api/v1/changes", params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


async def test_a_token_sees_only_the_changes_its_scopes_may_read(client: Client) -> None:
    mine = await portfolio(client, "Main")
    await client.post("/api/v1/transactions", json=deposit(mine))
    ledger = bearer(await new_token(client, "read:changes", "read:transactions"))
    tables = {c["table"] for c in (await client.get("/api/v1/changes", headers=ledger)).json()["items"]}
    assert tables == {"transactions"}
    bare = bearer(await new_token(client, "read:changes"))
    assert (await client.get("/api/v1/changes", headers=bare)).json()["items"] == []
    limited = bearer(await new_token(client, "read:changes", "read:portfolio", portfolio_id=mine))
    assert (await client.get("/api/v1/changes", headers=limited)).status_code == 403
    no_feed = bearer(await new_token(client, "read:portfolio"))
    assert (await client.get("/api/v1/changes", headers=no_feed)).status_code == 403


async def test_a_waiting_request_wakes_when_a_change_is_written(served: tuple[str, str]) -> None:
    # A real server: the test client runs one request at a time.
    base, token = served
    async with httpx.AsyncClient(base_url=base, headers=bearer(token), timeout=30) as http:
        cursor = (await http.get("/api/v1/changes", params={"after": "latest"})).json()["next_cursor"]
        started = time.monotonic()
        waiting = asyncio.create_task(http.get("/api/v1/changes", params={"after": cursor, "wait": "20"}))
        await asyncio.sleep(0.5)
        assert not waiting.done()
        made = await http.post("/api/v1/portfolios", json={"name": "Woken", "base_currency": "EUR"})
        written = time.monotonic()
        assert made.status_code == 201
        page = (await asyncio.wait_for(waiting, timeout=10)).json()
        assert [c["columns"].get("name") for c in page["items"]] == ["Woken"]
        assert time.monotonic() - written < 2
        assert time.monotonic() - started < 5


async def test_a_wait_with_nothing_new_ends_empty_at_its_deadline(client: Client) -> None:
    cursor = (await client.get("/api/v1/changes", params={"after": "latest"})).json()["next_cursor"]
    started = time.monotonic()
    page = (await client.get("/api/v1/changes", params={"after": cursor, "wait": "0.6"})).json()
    assert page == {"items": [], "next_cursor": cursor}
    assert 0.5 <= time.monotonic() - started < 5


async def test_a_cursor_resumes_after_a_restart(database_url: str, tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
    async with AsyncTestClient(create_app(settings)) as first:
        first.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        await portfolio(first, "Before")
        cursor = (await first.get("/api/v1/changes")).json()["next_cursor"]
        await portfolio(first, "Meanwhile")
    async with AsyncTestClient(create_app(settings)) as second:
        second.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        await portfolio(second, "After")
        page = (await second.get("/api/v1/changes", params={"after": cursor})).json()
        assert [c["columns"]["name"] for c in page["items"]] == ["Meanwhile", "After"]


async def test_a_feed_holds_only_its_own_accounts_changes(hosted: Client) -> None:
    alice, bob = await sign_up(hosted, "alice@example.org"), await sign_up(hosted, "bob@example.org")
    made = await hosted.post("/api/v1/portfolios", json={"name": "Alice's", "base_currency": "EUR"}, headers=alice)
    mine = (await hosted.get("/api/v1/changes", headers=alice)).json()["items"]
    assert [c["row_id"] for c in mine] == [made.json()["id"]]
    assert (await hosted.get("/api/v1/changes", headers=bob)).json()["items"] == []
    cursor = mine[-1]["cursor"]  # another account's cursor shows nothing of it either
    assert (await hosted.get("/api/v1/changes", params={"after": cursor}, headers=bob)).json()["items"] == []
