"""``/api/v1/backup``: the blob store a relay keeps for an account's backup repository,
on both databases, in a folder lake (a device) and an S3 lake (a hosted server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings
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
