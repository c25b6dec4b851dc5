"""Scoped tokens on both databases: created, listed, revoked, expired, limited to scopes
and to one portfolio, rate-limited; CORS when configured."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Request, get
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.api.access import FILTERS_BY_PORTFOLIO, portfolio_limit
from prism.api.auth import require_owner
from prism.api.state import owner_of, state_of
from prism.config import load_settings
from prism.storage.catalog import list_portfolios
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]


async def new_token(client: Client, *scopes: str, headers: dict[str, str] | None = None, **extra: Any) -> str:
    """A token with ``scopes`` made with the client's own token; its value."""
    response = await client.post("/api/v1/tokens", json={"scopes": list(scopes), **extra}, headers=headers)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["token"].startswith("prism_")
    return str(created["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def portfolio(client: Client, name: str) -> str:
    response = await client.post("/api/v1/portfolios", json={"name": name, "base_currency": "EUR"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def deposit(portfolio_id: str) -> dict[str, str]:
    return {"portfolio_id": portfolio_id, "type": "deposit", "date": "2024-01-02", "amount": "10", "currency": "EUR"}


async def test_read_only_token_reads_but_gets_403_on_writes(client: Client) -> None:
    await portfolio(client, "Main")
    reader = bearer(await new_token(client, "read:portfolio"))
    assert (await client.get("/api/v1/portfolios", headers=reader)).status_code == 200
    refused = await client.post("/api/v1/portfolios", json={"name": "X", "base_currency": "EUR"}, headers=reader)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "write:portfolio" in refused.json()["detail"]
    # Another resource's read scope is not implied either.
    assert (await client.get("/api/v1/transactions", headers=reader)).status_code == 403
    assert (await client.get("/api/v1/portfolios")).status_code == 200  # the device token: every scope


async def test_portfolio_limited_token_sees_only_its_portfolio(client: Client) -> None:
    mine, other = await portfolio(client, "Mine"), await portfolio(client, "Other")
    other_entry = (await client.post("/api/v1/transactions", json=deposit(other))).json()["id"]
    limited = bearer(
        await new_token(
            client, "read:portfolio", "read:transactions", "write:transactions", "read:analytics", portfolio_id=mine
        )
    )
    assert (await client.get(f"/api/v1/portfolios/{mine}", headers=limited)).status_code == 200
    assert (await client.get(f"/api/v1/portfolios/{other}", headers=limited)).status_code == 404
    assert (await client.get(f"/api/v1/portfolios/{other}/holdings", headers=limited)).status_code == 404
    assert (await client.get(f"/api/v1/portfolios/{mine}/holdings", headers=limited)).status_code == 200
    listed_portfolios = await client.get("/api/v1/portfolios", headers=limited)
    assert [p["id"] for p in listed_portfolios.json()["items"]] == [mine]  # the list narrows itself
    # Routes over the whole account cannot be narrowed to one portfolio: refused.
    for path in ("/api/v1/holdings", "/api/v1/assets", "/api/v1/value-history"):
        assert (await client.get(path, headers=limited)).status_code == 403, path
    written = await client.post("/api/v1/transactions", json=deposit(mine), headers=limited)
    assert written.status_code == 201, written.text
    assert (await client.post("/api/v1/transactions", json=deposit(other), headers=limited)).status_code == 404
    listed = await client.get("/api/v1/transactions", params={"portfolio_id": mine}, headers=limited)
    assert [e["id"] for e in listed.json()["items"]] == [written.json()["id"]]
    foreign = await client.get("/api/v1/transactions", params={"portfolio_id": other}, headers=limited)
    assert foreign.status_code == 404
    assert (await client.get("/api/v1/transactions", headers=limited)).status_code == 403
    assert (await client.get(f"/api/v1/transactions/{other_entry}", headers=limited)).status_code == 404
    assert (await client.delete(f"/api/v1/transactions/{other_entry}", headers=limited)).status_code == 404
    assert (await client.get(f"/api/v1/transactions/{other_entry}")).status_code == 200  # untouched


async def test_tokens_are_listed_without_values_and_record_their_last_use(client: Client) -> None:
    value = await new_token(client, "read:market", name="prices dashboard", expires_in=3600)
    listed = (await client.get("/api/v1/tokens")).json()["items"]
    (entry,) = [t for t in listed if t["name"] == "prices dashboard"]
    assert entry["scopes"] == ["read:market"]
    assert entry["last_used_at"] is None
    assert entry["expires_at"] is not None
    assert value not in str(listed)
    assert (await client.get("/api/v1/market/prices", headers=bearer(value))).status_code == 200
    (used,) = [t for t in (await client.get("/api/v1/tokens")).json()["items"] if t["id"] == entry["id"]]
    assert used["last_used_at"] is not None


async def test_revoked_and_expired_tokens_answer_401(client: Client) -> None:
    revoked = await new_token(client, "read:portfolio", name="old")
    token_id = next(t["id"] for t in (await client.get("/api/v1/tokens")).json()["items"] if t["name"] == "old")
    assert (await client.delete(f"/api/v1/tokens/{token_id}")).status_code == 204
    assert (await client.get("/api/v1/portfolios", headers=bearer(revoked))).status_code == 401
    assert (await client.delete(f"/api/v1/tokens/{token_id}")).status_code == 404
    short = await new_token(client, "read:portfolio", expires_in=1)
    assert (await client.get("/api/v1/portfolios", headers=bearer(short))).status_code == 200
    await asyncio.sleep(1.2)
    assert (await client.get("/api/v1/portfolios", headers=bearer(short))).status_code == 401


async def test_a_token_cannot_create_a_wider_token(client: Client) -> None:
    mine = await portfolio(client, "Mine")
    admin = bearer(await new_token(client, "admin:tokens", "read:portfolio"))
    wider = await client.post("/api/v1/tokens", json={"scopes": ["write:portfolio"]}, headers=admin)
    assert wider.status_code == 422
    assert wider.json()["errors"][0]["field"] == "scopes"
    assert (await client.post("/api/v1/tokens", json={"scopes": ["read:portfolio"]}, headers=admin)).status_code == 201
    for lifetime in (0, -5, 10**30):
        odd = await client.post("/api/v1/tokens", json={"scopes": ["read:portfolio"], "expires_in": lifetime})
        assert odd.status_code == 422, odd.text
        assert odd.json()["errors"][0]["field"] == "expires_in"
    control = await client.post("/api/v1/tokens", json={"scopes": ["read:portfolio"], "name": "a\x00b"})
    assert control.json()["errors"][0]["field"] == "name"
    unknown = await client.post("/api/v1/tokens", json={"scopes": ["root"]})
    assert unknown.status_code == 422
    no_scope = await client.post("/api/v1/tokens", json={"scopes": []})
    assert no_scope.json()["errors"][0]["field"] == "scopes"
    elsewhere = await client.post(
        "/api/v1/tokens", json={"scopes": ["read:portfolio"], "portfolio_id": str(uuid.uuid4())}
    )
    assert elsewhere.json()["errors"][0]["field"] == "portfolio_id"
    limited = bearer(await new_token(client, "read:portfolio", "admin:tokens", portfolio_id=mine))
    # A limited token manages no tokens: token routes cover the whole account.
    assert (await client.get("/api/v1/tokens", headers=limited)).status_code == 403


async def test_hosted_scoped_tokens_act_for_their_own_account_only(hosted: Client) -> None:
    alice = await sign_up(hosted, "alice@example.org")
    bob = await sign_up(hosted, "bob@example.org")
    made = await hosted.post("/api/v1/portfolios", json={"name": "A", "base_currency": "EUR"}, headers=alice)
    reader = bearer(await new_token(hosted, "read:portfolio", headers=alice))
    seen = await hosted.get("/api/v1/portfolios", headers=reader)
    assert [p["id"] for p in seen.json()["items"]] == [made.json()["id"]]
    bobs = (await hosted.get("/api/v1/tokens", headers=bob)).json()["items"]
    assert all(t["scopes"] != ["read:portfolio"] for t in bobs)
    assert (
        await hosted.post("/api/v1/portfolios", json={"name": "B", "base_currency": "EUR"}, headers=reader)
    ).status_code == 403


@pytest.fixture
async def limited_app(database_url: str, tmp_path: Path) -> AsyncIterator[Client]:
    """A device app allowing 3 requests a minute per stored token, and CORS for one origin."""
    environ = {"PRISM_RATE_LIMIT_PER_MINUTE": "3", "PRISM_CORS_ORIGINS": "https://dash.example.org"}
    settings = load_settings(environ, data_dir=tmp_path, database_url=database_url)
    async with AsyncTestClient(create_app(settings)) as test_client:
        test_client.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        yield test_client


async def test_a_token_over_its_rate_gets_429_with_retry_after(limited_app: Client) -> None:
    token = bearer(await new_token(limited_app, "read:portfolio"))
    # Eight calls span at most two one-minute windows, so one window sees more than three.
    answers = [await limited_app.get("/api/v1/portfolios", headers=token) for _ in range(8)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused, [a.status_code for a in answers]
    assert 1 <= int(refused[0].headers["retry-after"]) <= 60
    assert refused[0].headers["content-type"].startswith("application/problem+json")
    # The device's own token is not counted.
    device = [(await limited_app.get("/api/v1/portfolios")).status_code for _ in range(5)]
    assert device == [200] * 5


async def test_cors_allows_the_configured_origin_only(limited_app: Client) -> None:
    asked = {"Origin": "https://dash.example.org", "Access-Control-Request-Method": "GET"}
    allowed = await limited_app.options("/api/v1/portfolios", headers=asked)
    assert allowed.headers.get("access-control-allow-origin") == "https://dash.example.org"
    other = await limited_app.options("/api/v1/portfolios", headers={**asked, "Origin": "https://evil.example.org"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example.org"


async def test_a_list_route_that_filters_itself_admits_a_portfolio_limited_token(
    database_url: str, tmp_path: Path
) -> None:
    # A route declaring FILTERS_BY_PORTFOLIO narrows its own answer with portfolio_limit.
    @get("/api/v1/portfolios/visible", opt={FILTERS_BY_PORTFOLIO: True}, guards=[require_owner])
    async def visible(request: Request[Any, Any, Any]) -> list[str]:
        limit = portfolio_limit(request)
        found = await state_of(request).database.read(list_portfolios, owner_of(request))
        return [str(p.id) for p in found if limit is None or p.id == limit]

    settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
    app = create_app(settings)
    app.register(visible)
    async with AsyncTestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        mine, other = await portfolio(client, "Mine"), await portfolio(client, "Other")
        limited = bearer(await new_token(client, "read:portfolio", portfolio_id=mine))
        assert (await client.get("/api/v1/portfolios/visible", headers=limited)).json() == [mine]
        assert sorted((await client.get("/api/v1/portfolios/visible")).json()) == sorted([mine, other])
        # The real list declares it too: filtered, never whole.
        listed = await client.get("/api/v1/portfolios", headers=limited)
        assert [p["id"] for p in listed.json()["items"]] == [mine]
