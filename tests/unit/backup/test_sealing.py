"""Chunks are named by a keyed hash and sealed to their id; a tampered blob never opens."""

from __future__ import annotations

import pytest

from prism.backup.keys import Keyring
from prism.backup.sealing import INDEX_MAGIC, SNAPSHOT_MAGIC, open_chunk, open_file, seal_chunk, seal_file
from prism.errors import RepositoryDamagedError, WrongKeyError

KEYRING = Keyring(id_key=bytes(range(32)), keys={1: bytes(32), 2: bytes([7]) * 32}, current=2)


def test_a_sealed_chunk_opens_to_its_plaintext() -> None:
    plain = b"page " * 1000
    chunk_id = KEYRING.chunk_id(plain)

    blob = seal_chunk(KEYRING, chunk_id, plain, 2)

    assert len(blob) < len(plain)  # compressed first
    assert open_chunk(KEYRING, chunk_id, blob, 2, "pack p") == plain


def test_chunk_ids_depend_on_the_repository_key() -> None:
    other = Keyring(id_key=bytes(32), keys={1: bytes(32)}, current=1)

    assert KEYRING.chunk_id(b"same") != other.chunk_id(b"same")
    assert len(KEYRING.chunk_id(b"same")) == 32


def test_a_flipped_bit_or_a_swapped_id_does_not_open() -> None:
    first, second = b"first chunk", b"second chunk"
    first_id, second_id = KEYRING.chunk_id(first), KEYRING.chunk_id(second)
    blob = bytearray(seal_chunk(KEYRING, first_id, first, 2))

    with pytest.raises(RepositoryDamagedError, match=second_id.hex()):
        open_chunk(KEYRING, second_id, bytes(blob), 2, "pack p")
    blob[-1] ^= 1
    with pytest.raises(RepositoryDamagedError, match="pack p"):
        open_chunk(KEYRING, first_id, bytes(blob), 2, "pack p")


def test_a_generation_the_keyring_lacks_is_a_wrong_key() -> None:
    with pytest.raises(WrongKeyError, match="generation 3"):
        seal_chunk(KEYRING, KEYRING.chunk_id(b"x"), b"x", 3)


def test_a_sealed_file_opens_only_as_what_it_was_sealed_as() -> None:
    sealed = seal_file(KEYRING, INDEX_MAGIC, b"index body")

    assert open_file(KEYRING, INDEX_MAGIC, sealed, "index/x") == b"index body"
    with pytest.raises(RepositoryDamagedError):
        open_file(KEYRING, SNAPSHOT_MAGIC, sealed, "snapshots/x")
    with pytest.raises(RepositoryDamagedError, match="index/x"):
        open_file(KEYRING, INDEX_MAGIC, sealed[:-10], "index/x")
