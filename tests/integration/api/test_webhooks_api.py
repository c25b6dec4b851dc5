"""Webhooks over the API on both databases: registered, delivered by the server's own
deliverer to a real receiver on loopback, signed, recorded; scopes limit what is sent."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from litestar.testing import AsyncTestClient

from prism.integrations.signing import verify
from tests.integration.api.test_tokens_api import bearer, deposit, new_token, portfolio
from tests.integration.receiver import Received, receiver

Client = AsyncTestClient  # type: ignore[type-arg]


async def _arrival(got: Received, count: int = 1, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while len(got.requests) < count:
        assert time.monotonic() < deadline, f"{len(got.requests)} of {count} deliveries arrived"
        await asyncio.sleep(0.05)


async def test_a_change_is_delivered_signed_and_recorded(client: Client) -> None:
    with receiver(200) as got:
        made = await client.post("/api/v1/webhooks", json={"url": got.url, "scopes": ["read:portfolio"]})
        assert made.status_code == 201, made.text
        hook = made.json()
        assert hook["secret"].startswith("whsec_")
        mine = await portfolio(client, "Hooked")
        await _arrival(got)
    headers, body = got.requests[0]
    # Verified by hand, as a receiver in another language would.
    fields = dict(part.split("=", 1) for part in headers["prism-signature"].split(","))
    expected = hmac.new(hook["secret"].encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(int(fields["t"]) - time.time()) < 60
    assert verify(hook["secret"], body, headers["prism-signature"])
    assert not verify(hook["secret"], body + b" ", headers["prism-signature"])
    assert not verify("whsec_other", body, headers["prism-signature"])
    sent = json.loads(body)
    assert headers["prism-webhook"] == hook["id"] == sent["webhook_id"]
    assert [(c["table"], c["row_id"]) for c in sent["changes"]] == [("portfolios", mine)]
    deliveries = (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).json()["items"]
    assert [(d["id"], d["status"]) for d in deliveries] == [(sent["id"], "delivered")]
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [200]
    listed = (await client.get("/api/v1/webhooks")).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert hook["secret"] not in str(listed)


async def test_a_hook_receives_only_the_changes_of_its_scopes(client: Client) -> None:
    mine = await portfolio(client, "Main")
    with receiver(200) as got:
        await client.post("/api/v1/webhooks", json={"url": got.url, "scopes": ["read:transactions"]})
        await portfolio(client, "Not sent")
        await client.post("/api/v1/transactions", json=deposit(mine))
        await _arrival(got)
        await asyncio.sleep(1.0)  # a further round would have sent the portfolio by now
    tables = {c["table"] for _, body in got.requests for c in json.loads(body)["changes"]}
    assert tables == {"transactions"}


async def test_registration_is_checked_and_deletion_stops_deliveries(client: Client) -> None:
    for body, field in (
        ({"url": "ftp://example.org/x", "scopes": ["read:portfolio"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "scopes": ["write:portfolio"]}, "scopes"),
        ({"url": "http://127.0.0.1:9/x", "scopes": []}, "scopes"),
        ({"url": "http://bad\x00host/x", "scopes": ["read:portfolio"]}, "url"),
        ({"url": "http://host:99999/x", "scopes": ["read:portfolio"]}, "url"),
        ({"url": "http://[::1/x", "scopes": ["read:portfolio"]}, "url"),
    ):
        refused = await client.post("/api/v1/webhooks", json=body)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == field
    reader = bearer(await new_token(client, "admin:webhooks", "read:transactions"))
    wider = await client.post(
        "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "scopes": ["read:portfolio"]}, headers=reader
    )
    assert wider.status_code == 422
    with receiver(200) as got:
        hook = (await client.post("/api/v1/webhooks", json={"url": got.url, "scopes": ["read:portfolio"]})).json()
        assert (await client.delete(f"/api/v1/webhooks/{hook['id']}")).status_code == 204
        await portfolio(client, "After deletion")
        await asyncio.sleep(1.5)
    assert got.requests == []
    assert (await client.get(f"/api/v1/webhooks/{hook['id']}/deliveries")).status_code == 404
    assert (await client.get("/api/v1/webhooks")).json()["items"] == []
