"""The blind relay on SQLite and PostgreSQL: signed pushes and pulls of sealed sets."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from pathlib import Path

import httpx
import msgspec
import nacl.signing
import nacl.utils
from litestar.testing import AsyncTestClient

from prism.api.routes.relay import ACCOUNT_WINDOW_SECONDS
from prism.client.signing import sign_request
from prism.config import ServerSettings
from prism.sync.codec import ChangeSetHeader, WireChange, seal

Client = AsyncTestClient  # type: ignore[type-arg]
SECRET = "Zyxwv Private Holdings 98765.4321"
DEVICE_ID = "0123456789abcdef"


async def _account(client: Client, key: nacl.signing.SigningKey, device: str = DEVICE_ID) -> uuid.UUID:
    body = {"device_id": device, "verify_key": base64.b64encode(bytes(key.verify_key)).decode()}
    response = await client.post("/relay/v1/accounts", json=body)
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["account_id"])


def _sealed(account: uuid.UUID, key: nacl.signing.SigningKey, seq: int = 1, device: str = DEVICE_ID) -> bytes:
    header = ChangeSetHeader(1, account, device, "k1", "0006", seq, uuid.uuid4())
    change = WireChange(1, device, "notes", str(uuid.uuid4()), "insert", {"body": SECRET})
    return seal(header, [change], data_key=nacl.utils.random(32), signing_key=key)


async def _push(client: Client, account: uuid.UUID, key: nacl.signing.SigningKey, body: bytes) -> int:
    headers = sign_request(key, account, DEVICE_ID, method="POST", path="/relay/v1/push", body=body, now=time.time())
    response = await client.post("/relay/v1/push", content=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["seq"])


async def _pull(client: Client, account: uuid.UUID, key: nacl.signing.SigningKey, query: str = "") -> list[dict]:
    headers = sign_request(key, account, DEVICE_ID, method="GET", path="/relay/v1/pull", body=b"", now=time.time())
    response = await client.get(f"/relay/v1/pull{query}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def test_push_then_pull_and_pushing_twice_files_once(client: Client) -> None:
    key = nacl.signing.SigningKey.generate()
    account = await _account(client, key)
    first = _sealed(account, key)
    assert await _push(client, account, key, first) == 1
    assert await _push(client, account, key, first) == 1
    assert await _push(client, account, key, _sealed(account, key, seq=2)) == 2
    items = await _pull(client, account, key)
    assert [item["seq"] for item in items] == [1, 2]
    assert base64.b64decode(items[0]["body"]) == first
    assert await _pull(client, account, key, "?after=2") == []


async def test_unsigned_wrongly_signed_and_misaddressed_pushes_are_refused(client: Client) -> None:
    key = nacl.signing.SigningKey.generate()
    account = await _account(client, key)
    body = _sealed(account, key)
    assert (await client.post("/relay/v1/push", content=body)).status_code == 404
    forged = sign_request(
        nacl.signing.SigningKey.generate(),
        account,
        DEVICE_ID,
        method="POST",
        path="/relay/v1/push",
        body=body,
        now=time.time(),
    )
    assert (await client.post("/relay/v1/push", content=body, headers=forged)).status_code == 404
    stale = sign_request(
        key, account, DEVICE_ID, method="POST", path="/relay/v1/push", body=body, now=time.time() - 3600
    )
    assert (await client.post("/relay/v1/push", content=body, headers=stale)).status_code == 404
    other_key = nacl.signing.SigningKey.generate()
    other = await _account(client, other_key, "fedcba9876543210")
    replayed = _sealed(other, key)  # a set addressed to another account
    headers = sign_request(
        key, account, DEVICE_ID, method="POST", path="/relay/v1/push", body=replayed, now=time.time()
    )
    response = await client.post("/relay/v1/push", content=replayed, headers=headers)
    assert response.status_code == 422
    assert await _pull(client, account, key) == []


async def test_a_long_poll_wakes_when_a_set_arrives(served: tuple[str, str]) -> None:
    base, _ = served
    key = nacl.signing.SigningKey.generate()
    async with httpx.AsyncClient(base_url=base) as client:
        account = await _account(client, key)  # type: ignore[arg-type]
        waiting = asyncio.create_task(_pull(client, account, key, "?wait=10"))  # type: ignore[arg-type]
        await asyncio.sleep(0.3)
        assert not waiting.done()
        started = time.perf_counter()
        await _push(client, account, key, _sealed(account, key))  # type: ignore[arg-type]
        items = await asyncio.wait_for(waiting, timeout=5)
        woke_after = time.perf_counter() - started
    assert [item["seq"] for item in items] == [1]
    assert woke_after < 2


async def test_the_relay_stores_no_plaintext(client: Client, database_url: str) -> None:
    key = nacl.signing.SigningKey.generate()
    account = await _account(client, key)
    await _push(client, account, key, _sealed(account, key))
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert SECRET.encode() not in stored
    items = await _pull(client, account, key)
    assert SECRET.encode() not in base64.b64decode(items[0]["body"])


async def test_relay_walk_no_route_serves_one_account_to_another_device(client: Client) -> None:
    """Every relay route, called by a device of another account about this one, is refused."""
    alice_key, mallory_key = nacl.signing.SigningKey.generate(), nacl.signing.SigningKey.generate()
    alice = await _account(client, alice_key)
    await _push(client, alice, alice_key, _sealed(alice, alice_key))
    mallory_device = "fedcba9876543210"
    await _account(client, mallory_key, mallory_device)
    spec = (await client.get("/schema/openapi.json")).json()
    walked = 0
    for path, operations in spec["paths"].items():
        if not path.startswith("/relay/"):
            continue
        for method in operations:
            url = path.replace("{account_id}", str(alice))
            body = b'{"device_id": "fedcba9876543210", "verify_key": "x", "join_token": "eA=="}'
            if path == "/relay/v1/accounts":
                continue  # creates a new account: nothing of alice's to reach
            if path.endswith("/kdf"):
                # Public by design: a salt and cost parameters, no secret (docs/sync-protocol.md §8).
                assert (await client.get(url)).status_code == 404  # alice has no keyring yet
                walked += 1
                continue
            headers = sign_request(
                mallory_key, alice, mallory_device, method=method.upper(), path=url, body=body, now=time.time()
            )
            response = await client.request(method.upper(), url, content=body, headers=headers)
            walked += 1
            # Signed routes refuse before reading the body (404); joining checks the token (404)
            # after the body's shape (400/422 for this deliberately malformed one).
            expected = {400, 404, 422} if path.endswith("/devices") and "{" in path else {404}
            assert response.status_code in expected, (method, path, response.text)
            assert str(alice) not in response.text.replace(url, "")
    assert walked >= 6
    assert [item["seq"] for item in await _pull(client, alice, alice_key)] == [1]


async def test_a_newer_clients_set_is_filed_unread(client: Client) -> None:
    """A relay never refuses a newer client: a later envelope version, schema version and
    extra header fields are stored like any other set."""
    key = nacl.signing.SigningKey.generate()
    account = await _account(client, key)
    header = msgspec.msgpack.encode([2, account, DEVICE_ID, "k9", "9999", 1, uuid.uuid4(), "a field from 2031"])
    body = msgspec.msgpack.encode([header, bytes(24), bytes(48), bytes(64), "another part"])
    assert await _push(client, account, key, body) == 1
    assert base64.b64decode((await _pull(client, account, key))[0]["body"]) == body


async def test_the_largest_sealed_set_fits_a_relay_with_the_default_body_limit(client: Client) -> None:
    """A set padded to the top bucket (1 MiB) plus its envelope is over the app's general
    1 MiB body limit; the push route allows it, and nothing larger."""
    key = nacl.signing.SigningKey.generate()
    account = await _account(client, key)
    header = msgspec.msgpack.encode(ChangeSetHeader(1, account, DEVICE_ID, "k1", "0009", 1, uuid.uuid4()))
    largest = msgspec.msgpack.encode([header, bytes(24), bytes((1 << 20) + 16), bytes(64)])
    assert len(largest) > 1 << 20
    assert await _push(client, account, key, largest) == 1
    oversized = msgspec.msgpack.encode([header, bytes(24), bytes(3 << 20), bytes(64)])
    headers = sign_request(
        key, account, DEVICE_ID, method="POST", path="/relay/v1/push", body=oversized, now=time.time()
    )
    assert (await client.post("/relay/v1/push", content=oversized, headers=headers)).status_code == 413


async def test_new_accounts_from_one_address_are_limited(client: Client) -> None:
    # Counters live in fixed windows; start well inside one so all attempts share it.
    into_window = time.time() % ACCOUNT_WINDOW_SECONDS
    if into_window > ACCOUNT_WINDOW_SECONDS - 20:
        await asyncio.sleep(ACCOUNT_WINDOW_SECONDS - into_window + 0.5)
    for n in range(ServerSettings().relay_accounts_per_hour):  # the default limit
        await _account(client, nacl.signing.SigningKey.generate(), f"{n:016x}")
    body = {"device_id": "ffffffffffffffff", "verify_key": base64.b64encode(bytes(32)).decode()}
    refused = await client.post("/relay/v1/accounts", json=body)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(ACCOUNT_WINDOW_SECONDS)
