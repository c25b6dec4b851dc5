"""Damage is named by ``verify``, and ``restore`` never leaves a silently wrong file."""

from __future__ import annotations

from pathlib import Path

import pytest

from prism.backup import BlobStore, create_backup, prune_repository, restore_snapshot, verify_repository
from prism.errors import RepositoryDamagedError, WrongKeyError
from tests.integration.backup.conftest import PASSPHRASE, database_image, sha256_of


def _backed_up(repository: BlobStore, device: tuple[Path, Path]) -> str:
    database, lake = device
    done = create_backup(repository, PASSPHRASE, database, lake)
    assert verify_repository(repository, PASSPHRASE).ok
    return done.short_id


def _no_files(folder: Path) -> bool:
    return not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


def test_a_flipped_byte_in_a_pack_is_named_and_restore_refuses(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)
    pack = repository.list("data/")[0]
    data = bytearray(repository.get(pack))
    data[100] ^= 0x01  # inside the first sealed chunk
    repository.put(pack, bytes(data))

    report = verify_repository(repository, PASSPHRASE)

    assert not report.ok
    pack_id = pack.rsplit("/", 1)[1]
    assert any(d.kind == "pack" and d.name == pack_id and "does not match its name" in d.detail for d in report.damage)
    assert any(d.kind == "chunk" and "fails its authentication" in d.detail for d in report.damage)
    assert all(snapshot in d.snapshots for d in report.damage)
    with pytest.raises(RepositoryDamagedError, match="fails its authentication"):
        restore_snapshot(repository, PASSPHRASE, snapshot, tmp_path / "restored")
    assert _no_files(tmp_path / "restored")


def test_a_missing_pack_is_named_with_the_snapshots_it_hurts(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)
    pack = repository.list("data/")[-1]
    repository.delete(pack)

    report = verify_repository(repository, PASSPHRASE)

    missing = [d for d in report.damage if d.kind == "pack"]
    assert [(d.name, d.detail, d.snapshots) for d in missing] == [(pack.rsplit("/", 1)[1], "is missing", [snapshot])]
    with pytest.raises(RepositoryDamagedError, match="is missing"):
        restore_snapshot(repository, PASSPHRASE, snapshot, tmp_path / "restored")
    assert _no_files(tmp_path / "restored")


def test_a_truncated_index_is_named_and_the_packs_still_restore(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)
    (index,) = repository.list("index/")
    repository.put(index, repository.get(index)[:-40])

    report = verify_repository(repository, PASSPHRASE)

    assert not report.ok
    assert any(d.kind == "index" and d.name == index for d in report.damage)
    assert any(d.kind == "snapshot" and d.name == snapshot and "no index lists" in d.detail for d in report.damage)
    assert report.unreferenced_packs == len(repository.list("data/"))
    # The packs describe themselves: restore still gives the right bytes.
    restored = restore_snapshot(repository, PASSPHRASE, snapshot, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(device[0])


def test_a_damaged_snapshot_manifest_is_named(repository: BlobStore, device: tuple[Path, Path], tmp_path: Path) -> None:
    _backed_up(repository, device)
    (name,) = repository.list("snapshots/")
    data = bytearray(repository.get(name))
    data[-1] ^= 0xFF
    repository.put(name, bytes(data))

    report = verify_repository(repository, PASSPHRASE)

    assert [(d.kind, d.name) for d in report.damage] == [("snapshot", name.rsplit("/", 1)[1])]
    with pytest.raises(RepositoryDamagedError, match="snapshot"):
        restore_snapshot(repository, PASSPHRASE, name.rsplit("/", 1)[1][:8], tmp_path / "restored")
    assert _no_files(tmp_path / "restored")


def test_a_wrong_key_opens_nothing_and_writes_nothing(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)

    with pytest.raises(WrongKeyError, match="passphrase"):
        verify_repository(repository, "not the passphrase")
    with pytest.raises(WrongKeyError):
        restore_snapshot(repository, "not the passphrase", snapshot, tmp_path / "restored")
    with pytest.raises(WrongKeyError):
        create_backup(repository, "not the passphrase", *device)
    assert _no_files(tmp_path / "restored")
    assert len(repository.list("snapshots/")) == 1


def test_a_sampled_verify_reads_part_of_the_packs_but_still_finds_a_missing_one(
    repository: BlobStore, device: tuple[Path, Path]
) -> None:
    _backed_up(repository, device)
    packs = repository.list("data/")
    assert len(packs) >= 3

    half = verify_repository(repository, PASSPHRASE, sample_percent=50)
    repository.delete(packs[0])
    none = verify_repository(repository, PASSPHRASE, sample_percent=0)

    assert half.ok
    assert half.packs_checked == -(-len(packs) // 2)
    assert none.packs_checked == 0
    assert [(d.kind, d.detail) for d in none.damage] == [("pack", "is missing")]


def test_a_prune_rebuilds_a_damaged_index_from_the_packs(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)
    (index,) = repository.list("index/")
    repository.put(index, repository.get(index)[:-40])

    prune_repository(repository, PASSPHRASE, keep_daily=1, keep_weekly=0, keep_monthly=0)

    report = verify_repository(repository, PASSPHRASE)
    assert report.ok, report.damage
    assert index not in repository.list("index/")
    restored = restore_snapshot(repository, PASSPHRASE, snapshot, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(device[0])


def test_a_backup_after_a_pack_went_missing_stores_its_chunks_again(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    _backed_up(repository, device)
    repository.delete(repository.list("data/")[0])

    again = create_backup(repository, PASSPHRASE, *device)

    assert again.new_chunks > 0
    report = verify_repository(repository, PASSPHRASE)
    assert again.short_id not in {name for d in report.damage for name in d.snapshots}
    restored = restore_snapshot(repository, PASSPHRASE, again.short_id, tmp_path / "restored")
    assert sha256_of(Path(restored.database_path or "")) == database_image(device[0])


def test_a_missing_tree_is_named_and_restore_refuses(
    repository: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    snapshot = _backed_up(repository, device)
    tree = repository.list("trees/")[0]
    repository.delete(tree)

    report = verify_repository(repository, PASSPHRASE)

    assert [(d.kind, d.detail.split(": ")[-1]) for d in report.damage] == [("snapshot", f"tree {tree[6:]} is missing")]
    with pytest.raises(RepositoryDamagedError, match="is missing"):
        restore_snapshot(repository, PASSPHRASE, snapshot, tmp_path / "restored")
    assert _no_files(tmp_path / "restored")
