"""Repository keys: a passphrase or the account data key; rotation shuts out a revoked device."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

import nacl.utils
import pytest

from prism.backup import BlobStore, add_key, create_backup, init_repository, rekey_repository, restore_snapshot
from prism.backup.index import load_index
from prism.backup.keys import open_repository
from prism.backup.packs import pack_name
from prism.backup.sealing import open_chunk
from prism.errors import ConflictError, WrongKeyError
from prism.sync.keys import DeviceKeys
from tests.integration.backup.conftest import CHEAP_KDF, PASSPHRASE, database_image, sha256_of


def _device_keys(data_keys: dict[str, bytes], key_id: str) -> DeviceKeys:
    return DeviceKeys(
        owner_id=uuid.UUID(int=1),
        account_id=uuid.UUID(int=2),
        device_id="device-1",
        signing_seed=bytes(32),
        key_id=key_id,
        data_keys=data_keys,
    )


def test_a_repository_is_initialised_once(store: BlobStore) -> None:
    init_repository(store, PASSPHRASE, **CHEAP_KDF)

    with pytest.raises(ConflictError):
        init_repository(store, PASSPHRASE, **CHEAP_KDF)


def test_the_account_data_key_opens_the_repository(store: BlobStore, device: tuple[Path, Path], tmp_path: Path) -> None:
    keys = _device_keys({"k1": nacl.utils.random(32)}, "k1")
    init_repository(store, keys)
    done = create_backup(store, keys, *device)

    restored = restore_snapshot(store, keys, done.short_id, tmp_path / "restored")

    assert sha256_of(Path(restored.database_path or "")) == database_image(device[0])
    with pytest.raises(WrongKeyError):
        open_repository(store, _device_keys({"other": nacl.utils.random(32)}, "other"))
    with pytest.raises(WrongKeyError):
        open_repository(store, PASSPHRASE)


def test_a_second_key_opens_the_same_repository(store: BlobStore) -> None:
    keys = _device_keys({"k1": nacl.utils.random(32)}, "k1")
    init_repository(store, keys)

    add_key(store, keys, PASSPHRASE)

    assert open_repository(store, PASSPHRASE).keyring.id_key == open_repository(store, keys).keyring.id_key


def test_after_a_rotation_the_revoked_key_reads_no_new_backup(
    store: BlobStore, device: tuple[Path, Path], tmp_path: Path
) -> None:
    old_key = nacl.utils.random(32)
    revoked_device = _device_keys({"k1": old_key}, "k1")
    init_repository(store, revoked_device)
    before = create_backup(store, revoked_device, *device)
    kept_by_revoked = open_repository(store, revoked_device)  # what a revoked device may have kept
    rotated = _device_keys({"k1": old_key, "k2": nacl.utils.random(32)}, "k2")

    generation = rekey_repository(store, revoked_device, rotated)
    database, lake = device
    (lake / "new-file.parquet").write_bytes(nacl.utils.random(50_000))
    after = create_backup(store, rotated, database, lake)

    assert generation == 2
    with pytest.raises(WrongKeyError):
        open_repository(store, revoked_device)
    current = open_repository(store, rotated)
    new_packs = [record for record in load_index(current).packs.values() if record.generation == 2]
    assert new_packs
    data = store.get(pack_name(new_packs[0].id))
    assert struct.unpack_from("<I", data, 8) == (2,)
    entry = new_packs[0].chunks[0]
    with pytest.raises(WrongKeyError, match="generation 2"):
        open_chunk(kept_by_revoked.keyring, entry.chunk_id, data[entry.offset : entry.offset + entry.length], 2, "x")
    # Both snapshots still restore with the new key; chunks dedupe across the rotation.
    assert after.new_chunks <= 2
    for number, snapshot in enumerate([before, after]):
        restored = restore_snapshot(store, rotated, snapshot.short_id, tmp_path / f"restored-{number}")
        assert sha256_of(Path(restored.database_path or "")) == database_image(database)
