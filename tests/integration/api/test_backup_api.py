"""``/api/v1/backup``: the blob store a relay keeps for an account's backup repository,
on both databases, in a folder lake (a device) and an S3 lake (a hosted server)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import Settings, load_settings
from tests.conftest import s3_lake_settings
from tests.serving import sign_up

Client = AsyncTestClient  # type: ignore[type-arg]
BLOBS = "/api/v1/backup/blobs"


@pytest.fixture
async def hosted_s3(database_url: str, tmp_path: Path, s3_endpoint: str) -> AsyncIterator[Client]:
    """A hosted app whose object storage is an S3 bucket (the cloud's shape)."""
    lake = s3_lake_settings(s3_endpoint)
    environ = {
        "PRISM_LAKE_URL": lake.url,
        "PRISM_LAKE_S3_ENDPOINT": s3_endpoint,
        "PRISM_LAKE_S3_ACCESS_KEY_ID": lake.s3_access_key_id or "",
        "PRISM_LAKE_S3_SECRET_ACCESS_KEY": lake.s3_secret_access_key or "",
    }
    settings = load_settings(environ, data_dir=tmp_path, database_url=database_url, mode="hosted")
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def _names(client: Client, prefix: str = "", headers: dict[str, str] | None = None) -> dict[str, int]:
    response = await client.get(BLOBS, params={"prefix": prefix}, headers=headers)
    assert response.status_code == 200, response.text
    return {item["name"]: item["size"] for item in response.json()["items"]}


async def test_a_blob_round_trips_byte_for_byte(client: Client) -> None:
    body = bytes(range(256)) * 1000
    put = await client.put(f"{BLOBS}/data/ab/ab12cd", content=body)
    assert put.status_code == 204, put.text
    got = await client.get(f"{BLOBS}/data/ab/ab12cd")
    assert got.status_code == 200
    assert got.content == body
    assert got.headers["content-type"] == "application/octet-stream"
    assert await _names(client) == {"data/ab/ab12cd": len(body)}


async def test_a_put_replaces_and_a_delete_removes(client: Client) -> None:
    await client.put(f"{BLOBS}/index/one", content=b"first")
    await client.put(f"{BLOBS}/index/one", content=b"second, longer")
    assert (await client.get(f"{BLOBS}/index/one")).content == b"second, longer"
    assert (await client.delete(f"{BLOBS}/index/one")).status_code == 204
    assert (await client.get(f"{BLOBS}/index/one")).status_code == 404
    # Deletes are retried by clients: an absent blob is fine.
    assert (await client.delete(f"{BLOBS}/index/one")).status_code == 204


async def test_an_empty_blob_is_stored(client: Client) -> None:
    assert (await client.put(f"{BLOBS}/locks/empty", content=b"")).status_code == 204
    assert (await client.get(f"{BLOBS}/locks/empty")).content == b""
    assert await _names(client, "locks/") == {"locks/empty": 0}


async def test_a_missing_blob_is_404_problem_details(client: Client) -> None:
    response = await client.get(f"{BLOBS}/data/00/nothing")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_listing_filters_by_prefix_and_pages(client: Client) -> None:
    names = [f"data/{n:02x}/{n:02x}{'f' * 10}" for n in range(7)] + ["keys/main", "config"]
    for name in names:
        assert (await client.put(f"{BLOBS}/{name}", content=name.encode())).status_code == 204
    assert set(await _names(client, "data/")) == {n for n in names if n.startswith("data/")}
    assert set(await _names(client, "data/0")) == {n for n in names if n.startswith("data/0")}
    assert await _names(client, "keys") == {"keys/main": len(b"keys/main")}
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await client.get(BLOBS, params=params)).json()
        seen += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names)


@pytest.mark.parametrize(
    "name",
    [
        "Data/AB",
        "data/..%2Fkeys",
        "data//x",
        "data/.%2Fx",
        "%2E%2E",
        "data/x/",
        "data/.tmp-x",
        "a" * 201,
        "data/x y",
        "dat%C3%A4",
    ],
)
async def test_a_bad_name_is_422_naming_the_field_and_writes_nothing(client: Client, name: str) -> None:
    response = await client.put(f"{BLOBS}/{name}", content=b"x")
    assert response.status_code == 422, (name, response.text)
    assert response.json()["errors"][0]["field"] == "name"
    assert (await client.get(f"{BLOBS}/{name}")).status_code == 422
    assert await _names(client) == {}


async def test_a_bad_prefix_is_422_naming_the_field(client: Client) -> None:
    response = await client.get(BLOBS, params={"prefix": "../other"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "prefix"


async def test_a_longest_name_is_accepted(client: Client) -> None:
    name = "data/" + "a" * 195
    assert (await client.put(f"{BLOBS}/{name}", content=b"x")).status_code == 204
    assert await _names(client) == {name: 1}


async def test_blobs_need_the_token(client: Client) -> None:
    response = await client.get(BLOBS, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_an_oversized_blob_is_413(client: Client) -> None:
    from prism.api.routes.backup import MAX_BLOB_BYTES

    response = await client.put(f"{BLOBS}/data/big", content=b"\0" * (MAX_BLOB_BYTES + 1))
    assert response.status_code == 413
    assert (await client.get(f"{BLOBS}/data/big")).status_code == 404


async def test_a_pack_sized_blob_is_accepted_over_the_body_limit(client: Client) -> None:
    body = b"\x5a" * (17 << 20)  # bigger than PRISM_MAX_BODY_BYTES (1 MiB) and a 16 MiB pack
    assert (await client.put(f"{BLOBS}/data/pack", content=body)).status_code == 204
    assert (await client.get(f"{BLOBS}/data/pack")).content == body


async def test_an_account_never_sees_another_accounts_blobs(hosted_s3: Client) -> None:
    alice = await sign_up(hosted_s3, "alice@example.org")
    mallory = await sign_up(hosted_s3, "mallory@example.org")
    assert (await hosted_s3.put(f"{BLOBS}/data/ab/secret", content=b"alice's", headers=alice)).status_code == 204
    assert (await hosted_s3.get(f"{BLOBS}/data/ab/secret", headers=mallory)).status_code == 404
    assert await _names(hosted_s3, headers=mallory) == {}
    assert await _names(hosted_s3, "data/", headers=mallory) == {}
    # Mallory's blob of the same name is her own; deleting it leaves Alice's.
    assert (await hosted_s3.put(f"{BLOBS}/data/ab/secret", content=b"mine", headers=mallory)).status_code == 204
    assert (await hosted_s3.delete(f"{BLOBS}/data/ab/secret", headers=mallory)).status_code == 204
    assert (await hosted_s3.get(f"{BLOBS}/data/ab/secret", headers=alice)).content == b"alice's"
    assert await _names(hosted_s3, headers=alice) == {"data/ab/secret": 7}
    assert (await hosted_s3.get(BLOBS)).status_code == 401


async def test_a_hosted_folder_server_keeps_accounts_apart(hosted: Client) -> None:
    alice = await sign_up(hosted, "alice@example.org")
    mallory = await sign_up(hosted, "mallory@example.org")
    await hosted.put(f"{BLOBS}/keys/main", content=b"alice key", headers=alice)
    assert (await hosted.get(f"{BLOBS}/keys/main", headers=mallory)).status_code == 404
    assert await _names(hosted, headers=mallory) == {}
    assert await _names(hosted, headers=alice) == {"keys/main": 9}


# --- backup operations (a device's own repository) ------------------------------------

FAST_KDF = {"PRISM_SYNC_KDF_OPS": "1", "PRISM_SYNC_KDF_MEM_KIB": "8192"}


def _backing_up(tmp_path: Path, database_url: str, interval: int = 0, **extra: str) -> Settings:
    environ = {
        **FAST_KDF,
        "PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository"),
        "PRISM_BACKUP_PASSPHRASE": "correct horse battery",
        "PRISM_BACKUP_INTERVAL": str(interval),
        **extra,
    }
    return load_settings(environ, data_dir=tmp_path / "data", database_url=database_url)


@asynccontextmanager
async def _device(settings: Settings) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
        yield client


async def _some_data(client: Client) -> None:
    portfolio = await client.post("/api/v1/portfolios", json={"name": "Kept", "base_currency": "EUR"})
    assert portfolio.status_code == 201, portfolio.text
    deposit = {"portfolio_id": portfolio.json()["id"], "type": "deposit", "date": "2024-01-01", "currency": "EUR"}
    assert (await client.post("/api/v1/transactions", json={**deposit, "amount": "1000"})).status_code == 201


async def test_a_device_backs_up_lists_verifies_restores_and_prunes(
    database_url: str, backend: str, tmp_path: Path
) -> None:
    settings = _backing_up(tmp_path, database_url)
    async with _device(settings) as client:
        await _some_data(client)
        taken = await client.post("/api/v1/backup/snapshots")
        if backend == "postgresql":
            # A PostgreSQL store is backed up with PostgreSQL's tools, not by the device.
            assert taken.status_code == 422
            assert taken.json()["errors"][0]["field"] == "PRISM_DATABASE_URL"
            return
        assert taken.status_code == 201, taken.text
        snapshot = taken.json()
        listed = (await client.get("/api/v1/backup/snapshots")).json()["items"]
        assert [item["id"] for item in listed] == [snapshot["snapshot_id"]]
        verified = await client.post("/api/v1/backup/verify", json={"sample_percent": 100})
        assert verified.status_code == 200, verified.text
        assert verified.json()["ok"] is True
        assert verified.json()["damage"] == []
        target = tmp_path / "restored"
        restored = await client.post(
            "/api/v1/backup/restore", json={"snapshot_id": snapshot["short_id"], "target_dir": str(target)}
        )
        assert restored.status_code == 201, restored.text
        with sqlite3.connect(target / "prism.db") as connection:
            names = [row[0] for row in connection.execute("SELECT name FROM portfolios")]
        assert names == ["Kept"]
        pruned = await client.post("/api/v1/backup/prune", json={"keep_daily": 1, "keep_weekly": 0, "keep_monthly": 0})
        assert pruned.status_code == 200, pruned.text
        assert pruned.json()["kept"] == [snapshot["short_id"]]
        status = (await client.get("/api/v1/backup/status")).json()
        assert status["last_snapshot_id"] == snapshot["snapshot_id"]
        assert status["last_size_bytes"] == snapshot["total_bytes"]
        assert status["last_error"] is None
        assert status["next_run_at"] is None  # the schedule is off


async def test_a_restore_never_targets_the_live_database(client: Client, backend: str, tmp_path: Path) -> None:
    live = [(str(tmp_path), "the SQLite file's folder")] if backend == "sqlite" else []
    for folder, reason in [
        *live,
        ("relative/folder", "absolute"),
        ("~nobody-here/x", "absolute"),
        (str(tmp_path / "lake" / "x"), "inside the lake"),
        (str(tmp_path / "lake"), "the lake"),
    ]:
        response = await client.post("/api/v1/backup/restore", json={"snapshot_id": "abcd", "target_dir": folder})
        assert response.status_code == 422, (folder, reason, response.text)
        assert response.json()["errors"][0]["field"] == "target_dir"
    assert not (tmp_path / "lake" / "x").exists()


async def test_operations_without_a_repository_say_which_setting_is_missing(client: Client, backend: str) -> None:
    response = await client.post("/api/v1/backup/snapshots")
    assert response.status_code == 422
    expected = "PRISM_DATABASE_URL" if backend == "postgresql" else "PRISM_BACKUP_REPOSITORY"
    assert response.json()["errors"][0]["field"] == expected
    status = (await client.get("/api/v1/backup/status")).json()
    assert status["repository"] is None
    assert status["last_success_at"] is None


async def test_bad_operation_input_is_422_naming_the_field(client: Client) -> None:
    verify = await client.post("/api/v1/backup/verify", json={"sample_percent": 101})
    assert verify.status_code == 422
    assert verify.json()["errors"][0]["field"] == "sample_percent"
    prune = await client.post("/api/v1/backup/prune", json={"keep_daily": -1})
    assert prune.status_code == 422
    assert prune.json()["errors"][0]["field"] == "keep_daily"
    restore = await client.post("/api/v1/backup/restore", json={"snapshot_id": " ", "target_dir": "/tmp/x"})
    assert restore.status_code == 422
    assert restore.json()["errors"][0]["field"] == "snapshot_id"


async def test_a_hosted_server_refuses_backup_operations(hosted: Client) -> None:
    me = await sign_up(hosted, "me@example.org")
    calls = [
        ("POST", "/api/v1/backup/snapshots", None),
        ("GET", "/api/v1/backup/snapshots", None),
        ("POST", "/api/v1/backup/verify", {}),
        ("POST", "/api/v1/backup/restore", {"snapshot_id": "abcd", "target_dir": "/tmp/x"}),
        ("POST", "/api/v1/backup/prune", {}),
        ("GET", "/api/v1/backup/status", None),
    ]
    for method, path, body in calls:
        response = await hosted.request(method, path, json=body, headers=me)
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_status_reports_a_scheduled_backup(database_url: str, backend: str, tmp_path: Path) -> None:
    settings = _backing_up(tmp_path, database_url, interval=3600)
    async with _device(settings) as client:
        status: dict[str, Any] = {}
        for _ in range(300):
            status = (await client.get("/api/v1/backup/status")).json()
            if status["last_attempt_at"] is not None and not status["running"]:
                break
            await asyncio.sleep(0.05)
    assert status["interval_seconds"] == 3600
    assert status["next_run_at"] is not None
    if backend == "postgresql":
        assert "PRISM_DATABASE_URL" in status["last_error"]
        assert status["last_success_at"] is None
        return
    assert status["last_error"] is None
    assert status["last_success_at"] is not None
    assert status["last_snapshot_id"] is not None
    assert status["last_size_bytes"] > 0
    async with _device(settings) as client:  # a restarted server still knows it
        again = (await client.get("/api/v1/backup/status")).json()
    assert again["last_snapshot_id"] == status["last_snapshot_id"]


async def test_an_s3_listing_pages_by_name_within_the_account(hosted_s3: Client) -> None:
    me = await sign_up(hosted_s3, "pager@example.org")
    other = await sign_up(hosted_s3, "other@example.org")
    names = sorted([f"data/{n:02x}/{n:02x}aa" for n in range(7)] + ["index/one", "keys/k"])
    for name in names:
        assert (await hosted_s3.put(f"{BLOBS}/{name}", content=b"x" * len(name), headers=me)).status_code == 204
    await hosted_s3.put(f"{BLOBS}/data/00/zz", content=b"not mine", headers=other)
    seen: list[tuple[str, int]] = []
    cursor: str | None = None
    while True:
        params = {"prefix": "data/", "limit": "3", **({"cursor": cursor} if cursor else {})}
        page = (await hosted_s3.get(BLOBS, params=params, headers=me)).json()
        seen += [(item["name"], item["size"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [(name, len(name)) for name in names if name.startswith("data/")]


async def test_a_restore_never_writes_its_lake_into_the_live_lake(database_url: str, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    settings = _backing_up(tmp_path, database_url, PRISM_LAKE_URL=str(elsewhere / "lake"))
    async with _device(settings) as client:
        response = await client.post(
            "/api/v1/backup/restore", json={"snapshot_id": "abcd", "target_dir": str(elsewhere)}
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "target_dir"
    assert not (elsewhere / "prism.db").exists()
