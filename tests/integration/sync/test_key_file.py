"""The device's sync key file: plain on a plaintext device, sealed under the database key
on an encrypted one, and found in whichever form fits the database after a key change."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from msgspec import msgpack

from prism.errors import ValidationError
from prism.storage.sqlite_keys import fresh_key
from prism.sync.key_file import KeyFile, seal_for, staged, write_key_file
from prism.sync.keys import DeviceKeys, load_device_keys, save_device_keys

SEED = bytes(range(7, 39))
KEYS = DeviceKeys(
    owner_id=uuid.UUID(int=1),
    account_id=uuid.UUID(int=2),
    device_id="device-1",
    signing_seed=SEED,
    key_id="k1",
    data_keys={"k1": bytes(range(40, 72))},
)
FIRST, SECOND = seal_for(fresh_key("first passphrase")), seal_for(fresh_key("second passphrase"))


def test_a_sealed_key_file_shows_no_key_and_opens_only_with_its_seal(tmp_path: Path) -> None:
    path = tmp_path / "sync-keys"
    save_device_keys(KeyFile(path, FIRST), KEYS)

    assert SEED not in path.read_bytes()
    assert bytes(range(40, 72)) not in path.read_bytes()
    assert load_device_keys(KeyFile(path, FIRST)) == KEYS
    with pytest.raises(ValidationError, match="sealed with another database key"):
        load_device_keys(KeyFile(path, SECOND))
    with pytest.raises(ValidationError):
        load_device_keys(path)


def test_a_plain_key_file_read_by_an_encrypted_device_is_sealed_on_the_spot(tmp_path: Path) -> None:
    path = tmp_path / "sync-keys"
    save_device_keys(path, KEYS)
    assert SEED in path.read_bytes()  # the control: a plain file shows the seed

    assert load_device_keys(KeyFile(path, FIRST)) == KEYS

    assert SEED not in path.read_bytes()
    assert load_device_keys(KeyFile(path, FIRST)) == KEYS


def test_a_staged_key_file_is_used_once_the_database_key_it_was_staged_for_is_current(tmp_path: Path) -> None:
    path = tmp_path / "sync-keys"
    save_device_keys(KeyFile(path, FIRST), KEYS)
    write_key_file(staged(path), msgpack.encode(KEYS), SECOND)

    # Before the database's swap (still the first key): the current file.
    assert load_device_keys(KeyFile(path, FIRST)) == KEYS
    assert staged(path).exists()
    # After it (the second key): the staged file, which then takes the file's place.
    assert load_device_keys(KeyFile(path, SECOND)) == KEYS
    assert not staged(path).exists()
    with pytest.raises(ValidationError):
        load_device_keys(KeyFile(path, FIRST))


def test_no_key_file_means_no_sync_account(tmp_path: Path) -> None:
    assert load_device_keys(KeyFile(tmp_path / "sync-keys", FIRST)) is None


def test_the_key_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    for seal in (None, FIRST):
        path = tmp_path / f"sync-keys-{seal is None}"
        save_device_keys(KeyFile(path, seal), KEYS)
        assert path.stat().st_mode & 0o777 == 0o600
