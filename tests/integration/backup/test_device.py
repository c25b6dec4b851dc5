"""What a device backs up and with which key, from its settings."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from prism.backup.device import device_database_path, device_key_source, device_lake_root
from prism.config import BackupSettings, DatabaseSettings, LakeSettings, Settings
from prism.errors import ValidationError
from prism.sync.keys import DeviceKeys, save_device_keys


def _settings(tmp_path: Path, **changes: object) -> Settings:
    fields: dict[str, object] = {"data_dir": tmp_path, "database": DatabaseSettings(url=f"sqlite:///{tmp_path}/p.db")}
    fields.update(changes)
    return Settings(**fields)  # type: ignore[arg-type]


def _keys() -> DeviceKeys:
    return DeviceKeys(
        owner_id=uuid.UUID(int=1),
        account_id=uuid.UUID(int=2),
        device_id="d",
        signing_seed=bytes(32),
        key_id="k1",
        data_keys={"k1": bytes(32)},
    )


def test_the_passphrase_wins_over_the_account_key(tmp_path: Path) -> None:
    save_device_keys(tmp_path / "sync-keys", _keys())

    assert device_key_source(_settings(tmp_path, backup=BackupSettings(passphrase="pw"))) == "pw"
    assert device_key_source(_settings(tmp_path)) == _keys()


def test_without_either_key_the_error_names_both_ways(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="prism sync init") as missing:
        device_key_source(_settings(tmp_path))
    assert missing.value.field == "PRISM_BACKUP_PASSPHRASE"


def test_only_a_sqlite_file_is_backed_up(tmp_path: Path) -> None:
    assert device_database_path(_settings(tmp_path)) == tmp_path / "p.db"
    postgres = _settings(tmp_path, database=DatabaseSettings(url="postgresql+asyncpg://u@h/db"))
    with pytest.raises(ValidationError, match="SQLite") as refused:
        device_database_path(postgres)
    assert refused.value.field == "PRISM_DATABASE_URL"


def test_the_lake_is_backed_up_only_from_a_folder(tmp_path: Path) -> None:
    assert device_lake_root(_settings(tmp_path)) == tmp_path / "lake"
    assert device_lake_root(_settings(tmp_path, lake=LakeSettings(url="s3://bucket/lake"))) is None
