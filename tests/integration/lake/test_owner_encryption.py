"""Per-owner lake files encrypted at rest, on a folder and on S3 (moto's server on loopback)."""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from prism.config import LakeSettings
from prism.errors import StorageError, ValidationError
from prism.storage.lake import PRICES, RESULTS, SNAPSHOTS, Dataset, Lake, open_lake, write_rows
from prism.storage.lake import sealing as lake_sealing
from prism.storage.lake.encryption import add_duckdb_key, is_sealed, owner_file_key, parquet_source
from prism.storage.lake.manifest import encode_manifest as real_encode_manifest
from prism.storage.lake.sealing import reseal_owner_datasets

KEY = bytes(range(32))
OTHER_KEY = bytes(range(100, 132))
PORTFOLIO = "Zebra-Retirement-Portfolio"
AMOUNT = Decimal("98765.4321")


def snapshots(*days: int, value: Decimal = AMOUNT) -> pa.Table:
    rows: dict[str, list[Any]] = {name: [Decimal(0)] * len(days) for name in SNAPSHOTS.schema.names}
    rows.update(
        portfolio_id=[PORTFOLIO] * len(days),
        date=[dt.date(2024, 1, day) for day in days],
        currency=["EUR"] * len(days),
        unpriced=[0] * len(days),
        value=[value] * len(days),
    )
    return pa.table(rows)


def results() -> pa.Table:
    at = dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC)
    return pa.table(
        {
            "portfolio_id": [PORTFOLIO, PORTFOLIO],
            "period": ["ytd", "1y"],
            "metric": ["gain", "first_day"],
            "value": [str(AMOUNT), "2024-01-02"],
            "computed_at": [at, at],
            "date": [dt.date(2024, 1, 31)] * 2,
        }
    )


def fill(lake: Lake, owner: uuid.UUID) -> None:
    """Two snapshot writes (the second merges with the first file) and the results."""
    write_rows(lake, SNAPSHOTS, snapshots(2, 3), owner=owner)
    write_rows(lake, SNAPSHOTS, snapshots(4), owner=owner)
    write_rows(lake, RESULTS, results(), owner=owner, drop_where="true")


def rows_of(lake: Lake, dataset: Dataset, owner: uuid.UUID) -> list[dict[str, Any]]:
    order = ", ".join(dataset.order)
    rows: list[dict[str, Any]] = lake.query(f"SELECT * FROM {lake.scan(dataset, owner)} ORDER BY {order}").to_pylist()
    return rows


def every_byte(lake: Lake) -> bytes:
    return b"".join(lake.objects.get(key) or b"" for key in lake.objects.list(""))


def owner_files(lake: Lake) -> list[bytes]:
    keys = [key for name in ("snapshots", "results") for key in lake.objects.list(name) if key.endswith(".parquet")]
    return [lake.objects.get(key) or b"" for key in keys]


def reveals_the_portfolio(data: bytes) -> bool:
    unscaled = int(AMOUNT.scaleb(10)).to_bytes(16, "big", signed=True)  # DECIMAL(38, 10) as stored
    return any(marker in data for marker in (PORTFOLIO.encode(), str(AMOUNT).encode(), unscaled))


@pytest.mark.parametrize("owner_key", [None, KEY], ids=["plain", "encrypted"])
def test_only_an_encrypted_lake_hides_the_portfolio_in_every_file(
    lake_settings: LakeSettings, owner_key: bytes | None
) -> None:
    lake = open_lake(lake_settings, owner_key=owner_key)
    fill(lake, uuid.uuid4())
    lake.close()
    assert reveals_the_portfolio(every_byte(lake)) is (owner_key is None)


def _price_files(lake: Lake) -> list[bytes]:
    return [lake.objects.get(key) or b"" for key in lake.objects.list("prices") if key.endswith(".parquet")]


def test_an_encrypted_lake_scans_the_same_rows_as_a_plain_one(lake_settings: LakeSettings) -> None:
    plain, sealed = open_lake(lake_settings), open_lake(lake_settings, owner_key=KEY)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    fill(plain, alice)
    fill(sealed, bob)
    for dataset in (SNAPSHOTS, RESULTS):
        assert rows_of(sealed, dataset, bob) == rows_of(plain, dataset, alice)
    assert [row["date"].day for row in rows_of(sealed, SNAPSHOTS, bob)] == [2, 3, 4]
    assert all(is_sealed(data) for data in _files_of(sealed, bob))
    assert not any(is_sealed(data) for data in _files_of(plain, alice))


def _files_of(lake: Lake, owner: uuid.UUID) -> list[bytes]:
    keys = [file.key for dataset in (SNAPSHOTS, RESULTS) for file in lake.manifest(dataset, owner).files]
    return [lake.objects.get(key) or b"" for key in keys]


def test_a_wrong_owner_key_is_a_clear_storage_error(lake_settings: LakeSettings) -> None:
    owner = uuid.uuid4()
    fill(open_lake(lake_settings, owner_key=KEY), owner)
    for other in (open_lake(lake_settings, owner_key=OTHER_KEY), open_lake(lake_settings)):
        with pytest.raises(StorageError, match="do not open with the key"):
            rows_of(other, SNAPSHOTS, owner)
        with pytest.raises(StorageError, match="do not open with the key"):
            write_rows(other, SNAPSHOTS, snapshots(9), owner=owner)
    assert len(rows_of(open_lake(lake_settings, owner_key=KEY), SNAPSHOTS, owner)) == 3


def test_one_owners_file_key_opens_nothing_of_anothers(lake_settings: LakeSettings) -> None:
    lake = open_lake(lake_settings, owner_key=KEY)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    write_rows(lake, SNAPSHOTS, snapshots(2), owner=alice)
    write_rows(lake, SNAPSHOTS, snapshots(2), owner=bob)
    bobs_file = lake.manifest(SNAPSHOTS, bob).files[0].key
    cursor = lake.cursor()
    add_duckdb_key(cursor, "alices", owner_file_key(KEY, alice))
    add_duckdb_key(cursor, "bobs", owner_file_key(KEY, bob))
    uri = [lake.objects.uri(bobs_file)]
    with pytest.raises(duckdb.Error, match="AES tag differs"):
        cursor.execute(f"SELECT count(*) FROM {parquet_source(uri, 'alices')}").fetchall()
    assert cursor.execute(f"SELECT count(*) FROM {parquet_source(uri, 'bobs')}").fetchall() == [(1,)]


def test_shared_market_data_stays_plain_and_readable_without_a_key(lake_settings: LakeSettings) -> None:
    prices = pa.table({"isin": ["A"], "date": [dt.date(2024, 1, 2)], "close": [Decimal("1.5")], "currency": ["EUR"]})
    write_rows(open_lake(lake_settings, owner_key=KEY), PRICES, prices)
    plain = open_lake(lake_settings)
    assert plain.query(f"SELECT close FROM {plain.scan(PRICES)}").column("close").to_pylist() == [Decimal("1.5")]
    assert not any(is_sealed(data) for data in _price_files(plain))


def test_resealing_round_trips_plain_encrypted_rekeyed_and_plain(lake_settings: LakeSettings) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    plain = open_lake(lake_settings)
    fill(plain, alice)
    fill(plain, bob)
    both = [(dataset, owner) for dataset in (SNAPSHOTS, RESULTS) for owner in (alice, bob)]
    expected = [rows_of(plain, dataset, owner) for dataset, owner in both]
    for old, new in ((None, KEY), (KEY, OTHER_KEY), (OTHER_KEY, None)):
        assert reseal_owner_datasets(lake_settings, old_key=old, new_key=new) == 4  # 2 datasets x 2 owners
        assert reseal_owner_datasets(lake_settings, old_key=old, new_key=new) == 0  # already done
        lake = open_lake(lake_settings, owner_key=new)
        assert [rows_of(lake, dataset, owner) for dataset, owner in both] == expected
        assert all(is_sealed(data) is (new is not None) for data in owner_files(lake))
        assert reveals_the_portfolio(b"".join(owner_files(lake))) is (new is None)


def test_resealing_deletes_the_replaced_plain_files_at_once(lake_settings: LakeSettings) -> None:
    owner = uuid.uuid4()
    plain = open_lake(lake_settings)
    fill(plain, owner)
    assert plain.manifest(SNAPSHOTS, owner).retired  # the first snapshots file, kept for readers
    reseal_owner_datasets(lake_settings, old_key=None, new_key=KEY)
    assert len(owner_files(plain)) == 2
    assert not reveals_the_portfolio(every_byte(plain))


def test_resealing_resumes_after_a_crash(lake_settings: LakeSettings, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = uuid.uuid4()
    fill(open_lake(lake_settings), owner)
    commits: list[bytes] = []

    def crash_on_second_commit(manifest: Any) -> bytes:
        if commits:
            raise RuntimeError("power cut")
        commits.append(encoded := real_encode_manifest(manifest))
        return encoded

    monkeypatch.setattr(lake_sealing, "encode_manifest", crash_on_second_commit)
    with pytest.raises(RuntimeError):
        reseal_owner_datasets(lake_settings, old_key=None, new_key=KEY)
    monkeypatch.setattr(lake_sealing, "encode_manifest", real_encode_manifest)
    lake = open_lake(lake_settings, owner_key=KEY)
    assert len(rows_of(lake, SNAPSHOTS, owner)) == 3  # committed before the crash
    assert reseal_owner_datasets(lake_settings, old_key=None, new_key=KEY) == 1  # only the results
    assert len(rows_of(lake, RESULTS, owner)) == 2
    assert len(owner_files(lake)) == 2  # the uncommitted file of the crashed run is gone
    assert all(is_sealed(data) for data in owner_files(lake))


def test_an_encrypted_file_without_its_old_key_is_not_resealed(lake_settings: LakeSettings) -> None:
    owner = uuid.uuid4()
    fill(open_lake(lake_settings, owner_key=KEY), owner)
    with pytest.raises(StorageError, match="key that was not given"):
        reseal_owner_datasets(lake_settings, old_key=None, new_key=OTHER_KEY)
    with pytest.raises(StorageError, match="do not open with the key"):
        reseal_owner_datasets(lake_settings, old_key=OTHER_KEY, new_key=None)
    assert len(rows_of(open_lake(lake_settings, owner_key=KEY), SNAPSHOTS, owner)) == 3


def test_an_owner_key_must_be_32_bytes(lake_settings: LakeSettings) -> None:
    with pytest.raises(ValidationError) as raised:
        open_lake(lake_settings, owner_key=b"short")
    assert raised.value.field == "owner_key"


def test_an_encrypted_lake_leaves_no_temporary_file(
    lake_settings: LakeSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    fill(open_lake(lake_settings, owner_key=KEY), uuid.uuid4())
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("owner_key", [None, KEY], ids=["plain", "encrypted"])
def test_only_an_encrypted_lake_never_spills_to_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, owner_key: bytes | None
) -> None:
    monkeypatch.chdir(tmp_path)  # DuckDB spills into ./.tmp by default (and removes it on close)
    lake = Lake(LakeSettings(url=str(tmp_path / "lake"), memory_mb=64), owner_key=owner_key)
    # About 200 MB to sort: more than the limit, while what one step pins stays well under it.
    big = "SELECT count(*) AS n FROM (SELECT range, md5(range::varchar) AS h FROM range(2000000) ORDER BY h)"
    try:
        if owner_key is None:
            assert lake.query(big).column("n").to_pylist() == [2_000_000]
        else:
            with pytest.raises(StorageError, match="Out of Memory"):
                lake.query(big)
        assert (tmp_path / ".tmp").exists() is (owner_key is None)
    finally:
        lake.close()


def test_owner_objects_are_sealed_and_bound_to_their_owner(lake_settings: LakeSettings) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    lake = open_lake(lake_settings, owner_key=KEY)
    state = f'{{"portfolio": "{PORTFOLIO}", "value": "{AMOUNT}"}}'.encode()
    lake.put_owner_object(SNAPSHOTS, alice, "_state.json", state)
    assert not reveals_the_portfolio(every_byte(lake))
    assert lake.owner_object(SNAPSHOTS, alice, "_state.json") == state
    assert lake.owner_object(SNAPSHOTS, bob, "_state.json") is None
    sealed = lake.objects.get(f"snapshots/owner={alice}/_state.json") or b""
    lake.objects.put(f"snapshots/owner={bob}/_state.json", sealed)  # alice's object put in bob's place
    with pytest.raises(StorageError, match="does not open"):
        lake.owner_object(SNAPSHOTS, bob, "_state.json")
    with pytest.raises(StorageError, match="does not open"):
        open_lake(lake_settings, owner_key=OTHER_KEY).owner_object(SNAPSHOTS, alice, "_state.json")
    with pytest.raises(StorageError, match="no key"):
        open_lake(lake_settings).owner_object(SNAPSHOTS, alice, "_state.json")


def test_a_plain_owner_object_is_read_as_it_is(lake_settings: LakeSettings) -> None:
    owner = uuid.uuid4()
    open_lake(lake_settings).put_owner_object(RESULTS, owner, "state", b"plain")
    assert open_lake(lake_settings, owner_key=KEY).owner_object(RESULTS, owner, "state") == b"plain"


@pytest.mark.parametrize("name", ["", "_manifest.json", "part-1.parquet", "a/b", ".tmp-x", "../x"])
def test_an_owner_object_cannot_take_a_lake_files_name(lake: Lake, name: str) -> None:
    with pytest.raises(ValidationError):
        lake.put_owner_object(SNAPSHOTS, uuid.uuid4(), name, b"x")


def test_resealing_moves_owner_objects_too(lake_settings: LakeSettings) -> None:
    owner = uuid.uuid4()
    plain = open_lake(lake_settings)
    fill(plain, owner)
    plain.put_owner_object(SNAPSHOTS, owner, "_state.json", PORTFOLIO.encode())
    assert reseal_owner_datasets(lake_settings, old_key=None, new_key=KEY) == 3  # two files and the object
    assert not reveals_the_portfolio(every_byte(plain))
    assert open_lake(lake_settings, owner_key=KEY).owner_object(SNAPSHOTS, owner, "_state.json") == PORTFOLIO.encode()
    assert reseal_owner_datasets(lake_settings, old_key=KEY, new_key=OTHER_KEY) == 3
    assert reseal_owner_datasets(lake_settings, old_key=OTHER_KEY, new_key=None) == 3
    assert reseal_owner_datasets(lake_settings, old_key=OTHER_KEY, new_key=None) == 0
    assert plain.objects.get(f"snapshots/owner={owner}/_state.json") == PORTFOLIO.encode()
