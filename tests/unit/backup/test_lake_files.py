"""Which lake files a backup takes: the datasets, manifests first, not what is not the lake's."""

from __future__ import annotations

from pathlib import Path

from prism.backup.sources import lake_files


def test_manifests_come_first_and_other_accounts_backup_blobs_are_left_out(tmp_path: Path) -> None:
    for name in (
        "prices/year=2024/part-1.parquet",
        "prices/_manifest.json",
        "prices/.tmp-half-written",
        "backups/owner=5e0c/data/ab/pack",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [relative for relative, _ in lake_files(tmp_path)] == [
        "prices/_manifest.json",
        "prices/year=2024/part-1.parquet",
    ]
