"""Hosted mode on both databases: accounts, tokens, rate limits, and the tenant walk.

The tenant walk reads the OpenAPI spec and calls every route as a second account
with the first account's ids: each must answer 404 (or, where a body names them,
refuse it) and change nothing of the first account's. A route added later joins
the walk by itself; one that needs a request body must add a sample here.
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from prism.api.routes.identity import WINDOW_SECONDS
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]


async def test_sign_up_sign_in_and_tokens(hosted: Client) -> None:
    me = await sign_up(hosted, "Me@Example.org")
    assert (await hosted.get("/api/v1/portfolios", headers=me)).status_code == 200
    assert (await hosted.get("/api/v1/portfolios")).status_code == 401
    again = await hosted.post("/api/v1/auth/signup", json={"email": "me@example.org", "password": "another password"})
    assert again.status_code == 409
    short = await hosted.post("/api/v1/auth/signup", json={"email": "x@example.org", "password": "short"})
    assert short.json()["errors"][0]["field"] == "password"
    wrong = await hosted.post("/api/v1/auth/signin", json={"email": "me@example.org", "password": "wrong password"})
    assert wrong.status_code == 401
    right = await hosted.post(
        "/api/v1/auth/signin", json={"email": "ME@example.org", "password": "correct horse battery"}
    )
    token = right.json()["token"]
    assert (await hosted.get("/api/v1/holdings", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_sign_in_attempts_are_limited(hosted: Client) -> None:
    await sign_up(hosted, "target@example.org")
    # Counters live in fixed windows; start well inside one so all attempts share it.
    into_window = time.time() % WINDOW_SECONDS
    if into_window > WINDOW_SECONDS - 20:
        await asyncio.sleep(WINDOW_SECONDS - into_window + 0.5)
    answers = [
        await hosted.post("/api/v1/auth/signin", json={"email": "target@example.org", "password": f"guess {n}"})
        for n in range(12)
    ]
    assert [a.status_code for a in answers[:10]] == [401] * 10
    assert [a.status_code for a in answers[10:]] == [429, 429]
    assert answers[-1].headers["retry-after"] == str(WINDOW_SECONDS)


async def _populate(client: Client, headers: dict[str, str]) -> dict[str, str]:
    """One of everything for an account; the ids by path-parameter name."""

    async def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    portfolio = await made("/api/v1/portfolios", {"name": "Secret", "base_currency": "EUR"})
    asset = await made("/api/v1/assets", {"isin": "US0378331005", "name": "Apple", "kind": "stock", "currency": "USD"})
    transaction = await made(
        "/api/v1/transactions",
        {"portfolio_id": portfolio["id"], "type": "deposit", "date": "2024-01-01", "amount": "1000", "currency": "EUR"},
    )
    note = await made("/api/v1/notes", {"body": "private", "entity_type": "asset", "entity_id": asset["id"]})
    tag = await made("/api/v1/tags", {"name": "secret"})
    tagging = await made(f"/api/v1/tags/{tag['id']}/taggings", {"entity_type": "asset", "entity_id": asset["id"]})
    rule = await made("/api/v1/alert-rules", {"condition": "price_above", "threshold": "1", "asset_id": asset["id"]})
    response = await client.put(
        "/api/v1/settings/ui.secret", json={"type": "string", "value": "s3cret"}, headers=headers
    )
    assert response.status_code == 200
    blob = await client.put("/api/v1/backup/blobs/keys/alice-secret", content=b"sealed", headers=headers)
    assert blob.status_code == 204
    token = await made("/api/v1/tokens", {"scopes": ["read:portfolio"], "portfolio_id": portfolio["id"]})
    hook = await made("/api/v1/webhooks", {"url": "http://127.0.0.1:9/alice", "scopes": ["read:portfolio"]})
    return {
        "name": "keys/alice-secret",
        "portfolio_id": portfolio["id"],
        "asset_id": asset["id"],
        "transaction_id": transaction["id"],
        "note_id": note["id"],
        "tag_id": tag["id"],
        "tagging_id": tagging["id"],
        "rule_id": rule["id"],
        "key": "ui.secret",
        "conflict_id": str(uuid.uuid4()),  # alice has none yet; a foreign or unknown id alike is 404
        "isin": "DE0007164600",  # the hive knows nothing of it: 404 like any unknown id
        "token_id": token["id"],
        "webhook_id": hook["id"],
    }


def _bodies(ids: dict[str, str]) -> dict[tuple[str, str], dict[str, Any]]:
    """Valid request bodies naming the first account's rows, by (method, path)."""
    deposit = {
        "portfolio_id": ids["portfolio_id"],
        "type": "deposit",
        "date": "2024-02-01",
        "amount": "1",
        "currency": "EUR",
    }
    attach = {"entity_type": "asset", "entity_id": ids["asset_id"]}
    rule = {"condition": "price_below", "threshold": "2", "asset_id": ids["asset_id"]}
    return {
        ("post", "/api/v1/portfolios"): {"name": "Mine", "base_currency": "EUR"},
        ("put", "/api/v1/portfolios/{portfolio_id}"): {"name": "Stolen", "base_currency": "EUR"},
        ("post", "/api/v1/assets"): {"name": "Mine", "kind": "stock", "currency": "EUR"},
        ("put", "/api/v1/assets/{asset_id}"): {
            "isin": "US0378331005",
            "name": "Stolen",
            "kind": "stock",
            "currency": "USD",
        },
        ("post", "/api/v1/transactions"): deposit,
        ("put", "/api/v1/transactions/{transaction_id}"): deposit,
        ("post", "/api/v1/notes"): {"body": "x", "entity_type": "asset", "entity_id": ids["asset_id"]},
        ("put", "/api/v1/notes/{note_id}"): {"body": "stolen"},
        ("post", "/api/v1/tags"): {"name": "mine"},
        ("put", "/api/v1/tags/{tag_id}"): {"name": "secret", "color": "#000000"},
        ("post", "/api/v1/tags/{tag_id}/taggings"): attach,
        ("post", "/api/v1/alert-rules"): rule,
        ("put", "/api/v1/alert-rules/{rule_id}"): rule,
        ("put", "/api/v1/settings/{key}"): {"type": "string", "value": "mine"},
        ("post", "/api/v1/auth/signup"): {"email": "walker@example.org", "password": "a long password"},
        ("post", "/api/v1/auth/signin"): {"email": "walker@example.org", "password": "a long password"},
        ("post", "/api/v1/sync/conflicts/{conflict_id}/restore"): {},
        ("post", "/api/v1/market/prices"): {
            "rows": [{"isin": "US0378331005", "date": "2024-02-01", "close": "1", "currency": "USD"}]
        },
        ("post", "/api/v1/market/fx"): {"rows": [{"pair": "EURUSD", "date": "2024-02-01", "rate": "1.1"}]},
        ("post", "/api/v1/imports"): {
            "format": "generic",
            "portfolio_id": ids["portfolio_id"],
            "content": "date,type,amount,currency\n2024-02-01,deposit,1,EUR\n",
        },
        # A blob's body is opaque bytes: any body will do.
        ("put", "/api/v1/backup/blobs/{name}"): {"sealed": "walker"},
        ("post", "/api/v1/backup/snapshots"): {},
        ("post", "/api/v1/backup/verify"): {"sample_percent": 100},
        ("post", "/api/v1/backup/restore"): {"snapshot_id": "abcd", "target_dir": "/tmp/walker"},
        ("post", "/api/v1/backup/prune"): {"keep_daily": 1},
        ("post", "/api/v1/market/etf-holdings"): {
            "rows": [{"fund_isin": "IE00B4L5Y983", "as_of": "2024-02-01", "constituent_name": "All", "weight": "1"}]
        },
        ("post", "/api/v1/hive/resolutions"): {"isins": ["US0378331005"]},
        ("post", "/api/v1/hive/contributions"): {"assets": [{"isin": "US0378331005", "name": "Apple"}]},
        ("post", "/api/v1/tokens"): {"scopes": ["read:portfolio"], "portfolio_id": ids["portfolio_id"]},
        ("post", "/api/v1/webhooks"): {"url": "http://127.0.0.1:9/walker", "scopes": ["read:portfolio"]},
    }


#: Routes that act on the second account's own data (settings are keyed by name per
#: account); the final snapshot checks that the first account's stayed as they were.
OWN_DATA = {
    ("put", "/api/v1/settings/{key}"),
    ("delete", "/api/v1/settings/{key}"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/signin"),
    # The walker's own export holds the setting it wrote and deleted above, as a tombstone;
    # tests/integration/api/test_export_api.py checks that exports never cross accounts.
    ("get", "/api/v1/export"),
    # Likewise the walker's own change feed holds its own setting of that name;
    # tests/integration/api/test_changes_api.py checks that feeds never cross accounts.
    ("get", "/api/v1/changes"),
    # Backup blobs are named by the account's own repository: the walker's put and delete
    # act on its own blob of that name; the snapshot checks the first account's blob.
    ("put", "/api/v1/backup/blobs/{name}"),
    ("delete", "/api/v1/backup/blobs/{name}"),
}

#: Routes only a device serves (its own database's backups): a hosted server answers 403.
DEVICE_ONLY = {("get", "/api/v1/backup/snapshots"), ("get", "/api/v1/backup/status")}


async def _snapshot(client: Client, headers: dict[str, str], ids: dict[str, str]) -> list[Any]:
    paths = [
        "/api/v1/portfolios",
        "/api/v1/assets",
        "/api/v1/transactions",
        "/api/v1/notes",
        "/api/v1/tags",
        f"/api/v1/tags/{ids['tag_id']}/taggings",
        "/api/v1/alert-rules",
        "/api/v1/settings",
        "/api/v1/holdings",
        "/api/v1/backup/blobs",
    ]
    found = [(await client.get(path, headers=headers)).json() for path in paths]
    blob = await client.get(f"/api/v1/backup/blobs/{ids['name']}", headers=headers)
    return [*found, blob.status_code, blob.content]


async def test_tenant_walk_every_route_refuses_another_accounts_ids(hosted: Client) -> None:
    alice = await sign_up(hosted, "alice@example.org")
    mallory = await sign_up(hosted, "mallory@example.org")
    ids = await _populate(hosted, alice)
    before = await _snapshot(hosted, alice, ids)
    bodies = _bodies(ids)
    spec = (await hosted.get("/schema/openapi.json")).json()
    walked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method in operations:
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
            body = bodies.get((method, path)) if method in {"post", "put", "patch"} else None
            if method in {"post", "put", "patch"} and body is None:
                pytest.fail(f"no sample body for {method.upper()} {path}: add one to _bodies")
            response = await hosted.request(method.upper(), url, json=body, headers=mallory)
            walked += 1
            if (method, path) in OWN_DATA:
                continue
            text = response.text
            if "{" in path:
                assert response.status_code == 404, (method, path, text)
            elif (method, path) in DEVICE_ONLY:
                assert response.status_code == 403, (method, path, text)
            elif method == "get":
                assert response.status_code == 200, (method, path, text)
                assert not any(value in text for value in ids.values()), (method, path, text)
            else:
                assert response.status_code in {201, 403, 409, 422}, (method, path, text)
                assert response.status_code != 201 or all(ids[k] not in text for k in ids if k != "asset_id"), text
    assert walked >= 30
    assert await _snapshot(hosted, alice, ids) == before
