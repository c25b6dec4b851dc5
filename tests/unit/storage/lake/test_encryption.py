"""The owner keys and file forms of the lake's encrypted per-owner files (pure parts)."""

from __future__ import annotations

import uuid

import duckdb
import pyarrow as pa
import pytest

from prism.errors import StorageError, ValidationError
from prism.storage.lake.encryption import (
    check_owner_key,
    describe_read_error,
    is_sealed,
    is_sealed_object,
    open_object,
    owner_file_key,
    owner_object_key,
    parquet_source,
    plain_parquet,
    seal_object,
)

KEY = bytes(range(32))


def test_each_owner_gets_a_different_file_key() -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    assert owner_file_key(KEY, alice) != owner_file_key(KEY, bob)
    assert len(owner_file_key(KEY, alice)) == 32


def test_a_file_key_depends_on_the_owner_key_and_does_not_reveal_it() -> None:
    owner = uuid.uuid4()
    assert owner_file_key(KEY, owner) == owner_file_key(bytes(range(32)), owner)
    assert owner_file_key(KEY, owner) != owner_file_key(bytes(32), owner)
    assert KEY not in owner_file_key(KEY, owner)


@pytest.mark.parametrize("key", [b"", b"x" * 31, b"x" * 33, "x" * 32])
def test_an_owner_key_of_the_wrong_size_or_type_is_rejected(key: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        check_owner_key(key)
    assert raised.value.field == "owner_key"


def test_no_owner_key_means_plain_files() -> None:
    assert check_owner_key(None) is None
    assert check_owner_key(KEY) == KEY


def test_the_form_of_a_file_is_read_from_its_magic_bytes() -> None:
    plain = plain_parquet(pa.table({"a": [1]}))
    assert is_sealed(plain) is False
    assert is_sealed(b"PARE" + plain[4:-4] + b"PARE") is True
    with pytest.raises(ValueError, match="not a Parquet file"):
        is_sealed(b"{}")


def test_a_source_names_its_key_only_when_encrypted() -> None:
    assert parquet_source(["/l/it's.parquet"], None) == "read_parquet(['/l/it''s.parquet'], hive_partitioning = false)"
    assert "encryption_config = {footer_key: 'k'}" in parquet_source(["/l/a.parquet"], "k")


def test_a_key_mismatch_is_named_as_one() -> None:
    mismatch = duckdb.InvalidInputException("Invalid Input Error: Computed AES tag differs from read AES tag")
    assert "do not open with the key" in describe_read_error(mismatch)
    other = duckdb.IOException("IO Error: no such file")
    assert describe_read_error(other) == "IO Error: no such file"


def test_a_sealed_object_opens_only_with_its_key_at_its_path() -> None:
    owner = uuid.uuid4()
    key = owner_object_key(KEY, owner)
    sealed = seal_object(key, b"state", "snapshots/owner=x/_state.json")
    assert is_sealed_object(sealed)
    assert not is_sealed_object(b"state")
    assert b"state" not in sealed
    assert open_object(key, sealed, "snapshots/owner=x/_state.json") == b"state"
    with pytest.raises(StorageError):
        open_object(key, sealed, "snapshots/owner=y/_state.json")
    with pytest.raises(StorageError):
        open_object(owner_file_key(KEY, owner), sealed, "snapshots/owner=x/_state.json")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(StorageError):
        open_object(key, tampered, "snapshots/owner=x/_state.json")
