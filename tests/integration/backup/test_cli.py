"""``prism backup``, end to end, on a device's data folder and a folder repository."""

from __future__ import annotations

import uuid
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from prism.backup import FolderStore
from prism.backup.keys import open_repository
from prism.cli import main
from prism.errors import WrongKeyError
from prism.sync.keys import DeviceKeys, save_device_keys
from tests.integration.backup.conftest import PASSPHRASE, add_rows, database_image, sha256_of


def _prism(data_dir: Path, *args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), *args], env={"COLUMNS": "160", **env})
    return result.exit_code, result.output


def test_init_create_list_verify_restore_and_prune(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    add_rows(data_dir / "prism.db", 5_000)
    (data_dir / "lake" / "fx").mkdir(parents=True)
    (data_dir / "lake" / "fx" / "part-1.parquet").write_bytes(b"PAR1 rates PAR1")
    env = {"PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository"), "PRISM_BACKUP_PASSPHRASE": PASSPHRASE}

    code, output = _prism(data_dir, "backup", "init", env=env)
    assert code == 0, output
    assert "wrapped by the backup passphrase" in output
    code, output = _prism(data_dir, "backup", "create", env=env)
    assert code == 0, output
    assert "new data" in output
    code, output = _prism(data_dir, "backup", "create", env=env)
    assert "0 B (0 of" in output
    code, listing = _prism(data_dir, "backup", "list", env=env)
    assert code == 0, listing
    assert "2 snapshot(s)" in listing
    code, output = _prism(data_dir, "backup", "verify", "--sample", "50", env=env)
    assert code == 0, output
    assert "no damage found" in output
    snapshot = sorted(p.name for p in (tmp_path / "repository" / "snapshots").iterdir())[0][:8]
    code, output = _prism(data_dir, "backup", "restore", snapshot, "--to", str(tmp_path / "restored"), env=env)
    assert code == 0, output
    assert sha256_of(tmp_path / "restored" / "prism.db") == database_image(data_dir / "prism.db")
    assert (tmp_path / "restored" / "lake" / "fx" / "part-1.parquet").read_bytes() == b"PAR1 rates PAR1"
    code, output = _prism(data_dir, "backup", "prune", "--keep-daily", "1", "--keep-weekly", "0", env=env)
    assert code == 0, output
    assert "snapshots kept" in output
    code, listing = _prism(data_dir, "backup", "list", env=env)
    assert "1 snapshot(s)" in listing


def test_damage_fails_verify_and_names_the_pack(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    add_rows(data_dir / "prism.db", 2_000)
    env = {"PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository"), "PRISM_BACKUP_PASSPHRASE": PASSPHRASE}
    _prism(data_dir, "backup", "init", env=env)
    _prism(data_dir, "backup", "create", env=env)
    pack = next(p for p in (tmp_path / "repository" / "data").rglob("*") if p.is_file())
    pack.unlink()

    code, output = _prism(data_dir, "backup", "verify", env=env)

    assert code == 1
    assert "is missing" in output
    assert pack.name[:16] in output


def test_without_a_key_or_with_postgresql_the_error_says_what_to_do(tmp_path: Path) -> None:
    repository = {"PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository")}

    code, output = _prism(tmp_path, "backup", "init", env=repository)
    assert code == 1
    assert "PRISM_BACKUP_PASSPHRASE" in output
    assert "prism sync init" in output

    env = {**repository, "PRISM_BACKUP_PASSPHRASE": PASSPHRASE, "PRISM_DATABASE_URL": "postgresql://u@h/db"}
    _prism(tmp_path, "backup", "init", env=env)
    code, output = _prism(tmp_path, "backup", "create", env=env)
    assert code == 1
    assert "SQLite" in output

    code, output = _prism(tmp_path, "backup", "list", env={"PRISM_BACKUP_PASSPHRASE": PASSPHRASE})
    assert code == 1
    assert "PRISM_BACKUP_REPOSITORY" in output


def test_without_a_passphrase_the_account_key_of_a_linked_device_is_used(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    add_rows(data_dir / "prism.db", 1_000)
    keys = DeviceKeys(
        owner_id=uuid.UUID(int=1),
        account_id=uuid.UUID(int=2),
        device_id="d1",
        signing_seed=bytes(32),
        key_id="k1",
        data_keys={"k1": bytes(range(32))},
    )
    save_device_keys(data_dir / "sync-keys", keys)
    env = {"PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository")}

    code, output = _prism(data_dir, "backup", "init", env=env)
    assert code == 0, output
    assert "sync account's data key" in output
    code, output = _prism(data_dir, "backup", "create", env=env)
    assert code == 0, output
    code, output = _prism(data_dir, "backup", "list", env={**env, "PRISM_BACKUP_PASSPHRASE": "guess"})
    assert code == 1
    assert "no key file" in output


def test_rekey_after_a_revocation_shuts_out_the_old_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    add_rows(data_dir / "prism.db", 1_000)
    old = DeviceKeys(
        owner_id=uuid.UUID(int=1),
        account_id=uuid.UUID(int=2),
        device_id="d1",
        signing_seed=bytes(32),
        key_id="k1",
        data_keys={"k1": bytes(range(32))},
    )
    save_device_keys(data_dir / "sync-keys", old)
    env = {"PRISM_BACKUP_REPOSITORY": str(tmp_path / "repository")}
    _prism(data_dir, "backup", "init", env=env)
    _prism(data_dir, "backup", "create", env=env)
    rotated = msgspec.structs.replace(old, key_id="k2", data_keys={**old.data_keys, "k2": bytes(32)})
    save_device_keys(data_dir / "sync-keys", rotated)

    code, output = _prism(data_dir, "backup", "rekey", env=env)

    assert code == 0, output
    assert "key generation 2" in output
    with pytest.raises(WrongKeyError):
        open_repository(FolderStore(tmp_path / "repository"), old)
    code, output = _prism(data_dir, "backup", "list", env=env)
    assert code == 0, output
    assert "1 snapshot(s)" in output
