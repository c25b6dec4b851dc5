"""``GET /api/v1/export``: the account's whole data as one JSON document, on both databases,
the same rows as a folder export, and never another account's."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from litestar.testing import AsyncTestClient

from prism.config import DatabaseSettings
from prism.export.layout import EXPORT_TABLES
from prism.export.write import export_account
from prism.storage.engine import open_database
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]


async def _fill(client: Client, headers: dict[str, str] | None = None, name: str = "Secret") -> dict[str, str]:
    async def made(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    portfolio = await made("/api/v1/portfolios", {"name": name, "base_currency": "EUR"})
    asset = await made(
        "/api/v1/assets", {"isin": "US0378331005", "name": f"{name} Apple", "kind": "stock", "currency": "USD"}
    )
    deposit = {"portfolio_id": portfolio["id"], "type": "deposit", "date": "2024-01-01", "currency": "EUR"}
    kept = await made("/api/v1/transactions", {**deposit, "amount": "1000.10"})
    gone = await made("/api/v1/transactions", {**deposit, "amount": "5"})
    assert (await client.delete(f"/api/v1/transactions/{gone['id']}", headers=headers)).status_code == 204
    note = await made("/api/v1/notes", {"body": f"{name} note", "entity_type": "asset", "entity_id": asset["id"]})
    tag = await made("/api/v1/tags", {"name": f"{name.lower()} tag"})
    rule = await made("/api/v1/alert-rules", {"condition": "price_above", "threshold": "1.50", "asset_id": asset["id"]})
    put = await client.put(
        f"/api/v1/settings/ui.{name.lower()}", json={"type": "string", "value": name}, headers=headers
    )
    assert put.status_code == 200
    return {"portfolio": portfolio["id"], "asset": asset["id"], "kept": kept["id"], "gone": gone["id"],
            "note": note["id"], "tag": tag["id"], "rule": rule["id"]}  # fmt: skip


async def test_the_export_holds_every_table_exactly(client: Client, database_url: str, tmp_path: Path) -> None:
    ids = await _fill(client)
    response = await client.get("/api/v1/export")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    assert document["format"] == "prism-export"
    assert document["version"] == 1
    assert document["created_at"].endswith("Z")
    assert list(document["tables"]) == [spec.name for spec in EXPORT_TABLES]
    rows = {row["id"]: row for row in document["tables"]["transactions"]}
    assert rows[ids["kept"]]["amount"] == "1000.1"
    assert rows[ids["kept"]]["deleted_at"] is None
    assert rows[ids["gone"]]["deleted_at"].endswith("Z")  # the tombstone travels too
    assert document["tables"]["alert_rules"][0]["threshold"] == "1.5"
    assert document["tables"]["accounts"][0]["id"] == document["account_id"]
    # The same rows as a folder export of the same account.
    database = open_database(DatabaseSettings(url=database_url, pool_size=1))
    try:
        owner = uuid.UUID(document["account_id"])
        folder = (await export_account(database, owner, tmp_path / "folder", "json")).folder
    finally:
        await database.dispose()
    for spec in EXPORT_TABLES:
        assert document["tables"][spec.name] == json.loads((folder / f"{spec.name}.json").read_text()), spec.name


async def test_an_export_never_holds_another_accounts_data(hosted: Client) -> None:
    alice = await sign_up(hosted, "alice@example.org")
    bob = await sign_up(hosted, "bob@example.org")
    alices = await _fill(hosted, alice, "Alice")
    bobs = await _fill(hosted, bob, "Bob")
    assert (await hosted.get("/api/v1/export")).status_code == 401
    text = (await hosted.get("/api/v1/export", headers=bob)).text
    assert not any(value in text for value in alices.values())
    assert "Alice" not in text
    assert "alice" not in text
    document = json.loads(text)
    assert {row["id"] for row in document["tables"]["transactions"]} == {bobs["kept"], bobs["gone"]}
    assert [row["name"] for row in document["tables"]["portfolios"]] == ["Bob"]
    theirs = (await hosted.get("/api/v1/export", headers=alice)).json()
    assert theirs["account_id"] != document["account_id"]
    assert [row["name"] for row in theirs["tables"]["portfolios"]] == ["Alice"]
    assert [row["key"] for row in theirs["tables"]["settings"]] == ["ui.alice"]
