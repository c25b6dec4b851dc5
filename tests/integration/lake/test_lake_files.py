"""The lake's files and commits, on a folder and on S3 (moto's server on loopback)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from prism.config import LakeSettings
from prism.errors import ConflictError, StorageError, ValidationError
from prism.storage.engine import Database
from prism.storage.lake import PRICES, SNAPSHOTS, Lake, dataset_root, open_lake, write_rows
from prism.storage.lake import writer as lake_writer
from prism.storage.lake.lease import folder_lease, writer_lease


def prices(*rows: tuple[str, str, str]) -> pa.Table:
    return pa.table(
        {
            "isin": [isin for isin, _, _ in rows],
            "date": [dt.date.fromisoformat(day) for _, day, _ in rows],
            "close": [Decimal(close) for _, _, close in rows],
            "currency": ["EUR"] * len(rows),
        }
    )


def stored(lake: Lake) -> list[tuple[str, dt.date, Decimal]]:
    rows = lake.query(f"SELECT isin, date, close FROM {lake.scan(PRICES)} ORDER BY isin, date")
    return [(r["isin"], r["date"], r["close"]) for r in rows.to_pylist()]


def test_an_empty_dataset_scans_as_no_rows(lake: Lake) -> None:
    assert stored(lake) == []


def test_new_rows_replace_stored_rows_with_the_same_key(lake: Lake) -> None:
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1.5"), ("A", "2025-01-02", "2"), ("B", "2024-01-02", "3")))
    result = write_rows(lake, PRICES, prices(("A", "2024-01-02", "9.25")))
    assert result.version == 2
    assert result.earliest == dt.date(2024, 1, 2)
    assert stored(lake) == [
        ("A", dt.date(2024, 1, 2), Decimal("9.25")),
        ("A", dt.date(2025, 1, 2), Decimal(2)),
        ("B", dt.date(2024, 1, 2), Decimal(3)),
    ]


def test_only_touched_partitions_are_rewritten(lake: Lake) -> None:
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1"), ("A", "2025-01-02", "2")))
    before = {file.partition: file.key for file in lake.manifest(PRICES).files}
    write_rows(lake, PRICES, prices(("A", "2025-06-02", "3")))
    after = {file.partition: file.key for file in lake.manifest(PRICES).files}
    assert after["year=2024"] == before["year=2024"]
    assert after["year=2025"] != before["year=2025"]


def test_a_file_without_a_committed_manifest_is_never_read(lake: Lake) -> None:
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1")))
    committed = lake.objects.get("prices/_manifest.json")
    write_rows(lake, PRICES, prices(("B", "2024-01-02", "2")))
    lake.objects.put("prices/_manifest.json", committed or b"")  # as if the writer died before its commit
    assert stored(lake) == [("A", dt.date(2024, 1, 2), Decimal(1))]


def test_replaced_files_outlive_the_grace_period_only(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1")))
    first = lake.manifest(PRICES).files[0].key
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "2")))
    assert first in lake.objects.list("prices")  # a query planned on version 1 still finds it
    monkeypatch.setattr(lake_writer, "RETIRED_GRACE_SECONDS", -1.0)
    write_rows(lake, PRICES, prices(("A", "2024-01-03", "3")))
    assert first not in lake.objects.list("prices")
    assert stored(lake)[0][2] == Decimal(2)


def test_a_folder_lake_leaves_no_temporary_files(tmp_path: Path) -> None:
    lake = open_lake(LakeSettings(url=str(tmp_path / "lake")))
    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1")))
    names = [path.name for path in (tmp_path / "lake").rglob("*")]
    assert not [name for name in names if name.startswith(".tmp-")]


def snapshot_row(portfolio: str, value: str) -> pa.Table:
    row = {name: [Decimal(0)] for name in SNAPSHOTS.schema.names}
    row.update(portfolio_id=[portfolio], date=[dt.date(2024, 1, 2)], currency=["EUR"], unpriced=[0])
    row["value"] = [Decimal(value)]
    return pa.table(row)


def test_one_owners_snapshots_are_invisible_to_another(lake: Lake) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    write_rows(lake, SNAPSHOTS, snapshot_row("p", "100"), owner=alice)
    seen = lake.query(f"SELECT value FROM {lake.scan(SNAPSHOTS, bob)}")
    assert seen.num_rows == 0
    mine = lake.query(f"SELECT value FROM {lake.scan(SNAPSHOTS, alice)}").column("value").to_pylist()
    assert mine == [Decimal(100)]
    assert all(key.startswith(f"snapshots/owner={alice}/") for key in lake.objects.list("snapshots"))


def test_per_owner_datasets_need_an_owner_id(lake: Lake) -> None:
    with pytest.raises(ValidationError):
        dataset_root(SNAPSHOTS, None)
    with pytest.raises(ValidationError):
        dataset_root(SNAPSHOTS, "../prices")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        dataset_root(PRICES, uuid.uuid4())


def test_a_missing_bucket_is_a_storage_error(s3_endpoint: str) -> None:
    from tests.conftest import S3_KEY, S3_SECRET

    settings = LakeSettings(
        url="s3://no-such-bucket/x", s3_endpoint=s3_endpoint, s3_access_key_id=S3_KEY, s3_secret_access_key=S3_SECRET
    )
    with pytest.raises(StorageError):
        write_rows(open_lake(settings), PRICES, prices(("A", "2024-01-02", "1")))


async def test_a_second_writer_waits_for_the_lease(tmp_path: Path) -> None:
    lock = tmp_path / "lake.lock"
    async with folder_lease(lock):
        with pytest.raises(ConflictError):
            async with folder_lease(lock, wait_seconds=0.2):
                pass
    async with folder_lease(lock, wait_seconds=0.2):
        pass  # released with its holder


async def test_the_lease_is_an_advisory_lock_on_postgresql(db: Database, tmp_path: Path) -> None:
    lock = tmp_path / "lake.lock"
    async with writer_lease(db, lock):
        with pytest.raises(ConflictError):
            async with writer_lease(db, lock, wait_seconds=0.2):
                pass
    async with writer_lease(db, lock, wait_seconds=0.2):
        pass  # released with its holder
    if db.dialect == "postgresql":
        assert not lock.exists()  # the cloud shape holds no local file


def test_remembered_closes_are_forgotten_when_prices_change(lake: Lake) -> None:
    from prism.analytics.prices import closes_as_of

    write_rows(lake, PRICES, prices(("A", "2024-01-02", "1")))
    day = dt.date(2024, 1, 5)
    assert closes_as_of(lake, ["A"], day)["A"].close == Decimal(1)
    write_rows(lake, PRICES, prices(("A", "2024-01-04", "2")))
    assert closes_as_of(lake, ["A"], day)["A"].close == Decimal(2)
