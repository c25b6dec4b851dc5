"""The hive's routes on SQLite and PostgreSQL: consensus, bulk resolve, snapshots, hostile input, anonymity."""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import msgspec
import nacl.signing
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text

from prism.api import create_app
from prism.client.signing import sign_request
from prism.config import DatabaseSettings, load_settings
from prism.hive.snapshots import decode_snapshot
from prism.storage.engine import open_database
from prism.storage.hive_tables import HIVE_TABLES
from prism.storage.tables import users
from tests.integration.hive.isins import make_isins
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]
APPLE, MSFT, WORLD = "US0378331005", "US5949181045", "IE00B4L5Y983"


async def _contribute(client: Client, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = await client.post("/api/v1/hive/contributions", json=body, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


async def _lookup(client: Client, isin: str, headers: dict[str, str] | None = None) -> Any:
    response = await client.get(f"/api/v1/hive/isins/{isin}", headers=headers or {})
    assert response.status_code == 200, response.text
    return response.json()


async def test_consensus_counts_distinct_contributors_and_a_repeat_counts_once(hosted: Client) -> None:
    alice, bob, carol = [await sign_up(hosted, f"{n}@example.org") for n in ("alice", "bob", "carol")]
    for _ in range(3):  # alice repeating herself is still one voice
        await _contribute(hosted, {"assets": [{"isin": APPLE, "name": "Apple Computer"}]}, alice)
    for who in (bob, carol):
        await _contribute(hosted, {"assets": [{"isin": APPLE, "name": "Apple Inc.", "base_currency": "usd"}]}, who)
    found = await _lookup(hosted, APPLE, bob)
    assert found["fields"]["name"] == {"value": "Apple Inc.", "confidence": "0.6667", "contributors": 2}
    assert found["fields"]["base_currency"]["value"] == "USD"
    assert found["contributors"] == 3
    # A contributor changing its mind replaces its own claim.
    await _contribute(hosted, {"assets": [{"isin": APPLE, "name": "Apple Inc."}]}, alice)
    assert (await _lookup(hosted, APPLE, bob))["fields"]["name"]["contributors"] == 3


async def test_a_stub_never_overwrites_an_active_record(hosted: Client) -> None:
    alice, bob, carol = [await sign_up(hosted, f"{n}@example.org") for n in ("alice", "bob", "carol")]
    await _contribute(hosted, {"assets": [{"isin": MSFT, "name": "Microsoft Corp", "asset_class": "Equity"}]}, alice)
    for who in (bob, carol):
        stub = {"isin": MSFT, "name": "MSFT stub", "asset_class": "ETF", "enrichment_status": "stub"}
        await _contribute(hosted, {"assets": [stub]}, who)
    found = await _lookup(hosted, MSFT, alice)
    assert found["status"] == "active"
    assert found["fields"]["name"]["value"] == "Microsoft Corp"
    assert found["fields"]["asset_class"]["value"] == "Equity"


async def test_bulk_resolve_of_a_thousand_isins_in_one_request(client: Client) -> None:
    isins = make_isins(1000)
    assets = [{"isin": isin, "name": f"Asset {n}", "asset_class": "Equity"} for n, isin in enumerate(isins)]
    await _contribute(client, {"assets": assets})
    response = await client.post("/api/v1/hive/resolutions", json={"isins": [*isins[:999], MSFT]})
    assert response.status_code == 201, response.text
    body = response.json()
    assert [item["isin"] for item in body["items"]] == isins[:999]
    assert body["unknown"] == [MSFT]
    assert body["items"][5]["fields"]["name"]["value"] == "Asset 5"
    too_many = await client.post("/api/v1/hive/resolutions", json={"isins": [*isins, MSFT]})
    assert too_many.status_code == 400
    assert too_many.json()["errors"][0]["field"] == "isins"


async def test_a_fund_composition_in_percent_is_stored_as_fractions(client: Client) -> None:
    holdings = [
        {"isin": APPLE, "name": "Apple", "weight": "60", "country": "us", "currency": "USD"},
        {"name": "USD CASH", "weight": "40"},
    ]
    future = {"compositions": [{"etf_isin": WORLD, "as_of": "2099-01-01", "holdings": holdings}]}
    refused = await client.post("/api/v1/hive/contributions", json=future)
    assert refused.json()["errors"][0]["field"] == "compositions[0].as_of"
    today = time.strftime("%Y-%m-%d", time.gmtime())
    await _contribute(client, {"compositions": [{"etf_isin": WORLD, "as_of": today, "holdings": holdings}]})
    found = await _lookup(client, WORLD)
    assert found["composition"]["stale"] is False
    assert [(h["name"], h["weight"], h["country"]) for h in found["composition"]["holdings"]] == [
        ("Apple", "0.6", "US"),
        ("USD CASH", "0.4", None),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"assets": [{"isin": APPLE}, {"isin": "US0378331006"}]}, "assets[1].isin"),
        ({"assets": [{"isin": APPLE, "country": "XX"}]}, "assets[0].country"),
        ({"assets": [{"isin": APPLE, "base_currency": "ABC"}]}, "assets[0].base_currency"),
        ({"assets": [{"isin": APPLE, "name": "a\x00b"}]}, "assets[0].name"),
        ({"listings": [{"ticker": "AAPL", "exchange": "XNAS", "isin": "DROP TABLE;"}]}, "listings[0].isin"),
        (
            {
                "compositions": [
                    {"etf_isin": WORLD, "as_of": "2024-01-01", "holdings": [{"isin": APPLE, "weight": "3"}]}
                ]
            },
            "compositions[0].holdings",
        ),
        ({"assets": [{"isin": APPLE, "colour": "red"}]}, "colour"),
    ],
)
async def test_bad_input_names_the_field_and_writes_nothing(client: Client, body: dict[str, Any], field: str) -> None:
    response = await client.post("/api/v1/hive/contributions", json=body)
    assert response.status_code in {400, 422}, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [error["field"] for error in response.json()["errors"]]
    snapshot = await client.get("/api/v1/hive/snapshot")
    assert decode_snapshot(snapshot.content).version == 0


async def test_huge_batches_are_refused(client: Client) -> None:
    assets = [{"isin": isin} for isin in make_isins(1001)]
    response = await client.post("/api/v1/hive/contributions", json={"assets": assets})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "assets"


async def test_injection_strings_are_only_text(client: Client) -> None:
    hostile = "Robert'); DROP TABLE hive_assets; --"
    await _contribute(client, {"assets": [{"isin": APPLE, "name": hostile, "sector": "<script>x</script>"}]})
    found = await _lookup(client, APPLE)
    assert found["fields"]["name"]["value"] == hostile
    bad = await client.get("/api/v1/hive/isins/' OR 1=1 --")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "isin"
    assert (await client.get(f"/api/v1/hive/isins/{MSFT}")).status_code == 404


async def test_snapshot_then_delta_since_its_version(client: Client) -> None:
    await _contribute(client, {"assets": [{"isin": APPLE, "name": "Apple"}]})
    first = await client.get("/api/v1/hive/snapshot")
    assert first.headers["content-type"].startswith("application/vnd.prism.hive-snapshot")
    full = decode_snapshot(first.content)
    assert [a.isin for a in full.assets] == [APPLE]
    await _contribute(client, {"assets": [{"isin": MSFT, "name": "Microsoft"}]})
    delta = decode_snapshot((await client.get(f"/api/v1/hive/snapshot?since={full.version}")).content)
    assert (delta.since, [a.isin for a in delta.assets]) == (full.version, [MSFT])
    # The whole snapshot is kept per version: a new version is a new snapshot.
    again = decode_snapshot((await client.get("/api/v1/hive/snapshot")).content)
    assert (again.version, [a.isin for a in again.assets]) == (delta.version, [APPLE, MSFT])
    ahead = await client.get(f"/api/v1/hive/snapshot?since={delta.version + 1}")
    assert ahead.status_code == 422
    assert ahead.json()["errors"][0]["field"] == "since"


async def test_a_relay_device_contributes_with_its_signature(client: Client) -> None:
    key = nacl.signing.SigningKey.generate()
    device = "0123456789abcdef"
    registered = await client.post(
        "/relay/v1/accounts", json={"device_id": device, "verify_key": base64.b64encode(bytes(key.verify_key)).decode()}
    )
    account = uuid.UUID(registered.json()["account_id"])
    body = json.dumps({"assets": [{"isin": APPLE, "name": "Apple"}]}).encode()
    path = "/relay/v1/hive/contributions"
    unsigned = await client.post(path, content=body, headers={"Authorization": ""})
    assert unsigned.status_code == 404  # the relay answers every bad signature alike
    headers = sign_request(key, account, device, method="POST", path=path, body=body, now=time.time())
    signed = await client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
    assert signed.status_code == 201, signed.text
    assert (await _lookup(client, APPLE))["fields"]["name"]["value"] == "Apple"


async def _stored_text(database_url: str) -> str:
    database = open_database(DatabaseSettings(url=database_url))
    try:

        def dump(connection: Any) -> str:
            rows = [list(connection.execute(select(table))) for table in HIVE_TABLES]
            # The hive's counters; sign-up keeps its own, by address, outside the hive.
            limits = list(connection.execute(text("SELECT key FROM rate_limits WHERE key LIKE 'hive:%'")))
            return repr(rows) + repr(limits)

        return await database.read(dump)
    finally:
        await database.dispose()


async def _account_ids(database_url: str) -> list[str]:
    database = open_database(DatabaseSettings(url=database_url))
    try:
        found = await database.read(lambda c: list(c.execute(select(users.c.account_id)).scalars()))
        return [str(account) for account in found]
    finally:
        await database.dispose()


async def test_stored_rows_and_logs_hold_nothing_that_identifies_a_contributor(
    hosted: Client, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    alice, bob = await sign_up(hosted, "alice@example.org"), await sign_up(hosted, "bob@example.org")
    holdings = [{"isin": APPLE, "weight": "0.5"}, {"isin": MSFT, "weight": "0.5"}]
    for who in (alice, bob):
        await _contribute(
            hosted,
            {
                "assets": [{"isin": APPLE, "name": "Apple"}],
                "listings": [{"ticker": "AAPL", "exchange": "XNAS", "isin": APPLE, "currency": "USD"}],
                "aliases": [{"alias": "Apple", "isin": APPLE}],
                "compositions": [{"etf_isin": WORLD, "as_of": "2024-01-01", "holdings": holdings}],
            },
            who,
        )
    stored = await _stored_text(database_url)
    secrets = [*await _account_ids(database_url), "alice@example.org", "bob@example.org", "testclient"]
    secrets += [headers["Authorization"].split()[1] for headers in (alice, bob)]
    secrets += [value.replace("-", "") for value in secrets if len(value) == 36]  # ids as SQLite stores them
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert secret not in stored
        assert secret not in logged
    assert "hive_assets" in stored or "Apple" in stored  # the dump did read the hive's rows


async def test_contributions_are_rate_limited_per_contributor(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("prism.hive.service.CONTRIBUTOR_LIMIT", 2)
    for _ in range(2):
        await _contribute(client, {"assets": [{"isin": APPLE}]})
    refused = await client.post("/api/v1/hive/contributions", json={"assets": [{"isin": APPLE}]})
    assert refused.status_code == 429
    assert refused.headers["retry-after"]
    snapshot = msgspec.json.decode((await client.get(f"/api/v1/hive/isins/{APPLE}")).content)
    assert snapshot["isin"] == APPLE


async def test_contributions_are_rate_limited_per_address_bucket(
    hosted: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("prism.hive.service.ADDRESS_LIMIT", 2)
    accounts = [await sign_up(hosted, f"user{n}@example.org") for n in range(3)]
    answers = [
        await hosted.post("/api/v1/hive/contributions", json={"assets": [{"isin": APPLE}]}, headers=who)
        for who in accounts
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]  # three accounts, one address


async def test_a_server_that_mirrors_another_hive_takes_no_contributions(database_url: str, tmp_path: Path) -> None:
    settings = load_settings(
        {"PRISM_HIVE_URL": "https://hive.example.org"}, data_dir=tmp_path, database_url=database_url
    )
    async with AsyncTestClient(create_app(settings)) as mirror:
        mirror.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        refused = await mirror.post("/api/v1/hive/contributions", json={"assets": [{"isin": APPLE}]})
        assert refused.status_code == 403
        assert (await mirror.get(f"/api/v1/hive/isins/{APPLE}")).status_code == 404
