"""Sealed change sets: everything checked before anything is returned."""

from __future__ import annotations

import uuid

import msgspec
import nacl.signing
import nacl.utils
import pytest

from prism.errors import ChangeSetRejectedError
from prism.sync.codec import (
    ChangeSetHeader,
    WireChange,
    bucket_size,
    read_header,
    seal,
    split_changes,
    unseal,
)

ACCOUNT = uuid.uuid4()
KEY = nacl.utils.random(32)
DEVICE = nacl.signing.SigningKey.generate()
SECRET = "Confidential Holdings 123.4567"


def _header(seq: int = 1, account: uuid.UUID = ACCOUNT) -> ChangeSetHeader:
    return ChangeSetHeader(1, account, "a1b2c3d4e5f60718", "k1", "0004", seq, uuid.uuid4())


def _changes(count: int = 3) -> list[WireChange]:
    return [
        WireChange(1000 + n, "a1b2c3d4e5f60718", "notes", str(uuid.uuid4()), "insert", {"body": f"{SECRET} {n}"})
        for n in range(count)
    ]


def _open(sealed: bytes, **overrides: object) -> tuple[ChangeSetHeader, list[WireChange]]:
    options: dict[str, object] = {
        "account_id": ACCOUNT,
        "verify_key": DEVICE.verify_key,
        "data_keys": {"k1": KEY},
        "last_seq": 0,
    }
    options.update(overrides)
    return unseal(sealed, **options)  # type: ignore[arg-type]


def test_a_sealed_set_opens_to_the_same_changes_and_hides_them() -> None:
    changes = _changes()
    sealed = seal(_header(), changes, data_key=KEY, signing_key=DEVICE)
    assert SECRET.encode() not in sealed
    header, opened = _open(sealed)
    assert opened == changes
    assert header.device_seq == 1
    assert read_header(sealed) == header


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b[:-1], "malformed envelope"),
        (lambda b: b[: len(b) // 2], "malformed envelope"),
    ],
)
def test_truncated_sets_are_rejected(mutate: object, reason: str) -> None:
    sealed = seal(_header(), _changes(), data_key=KEY, signing_key=DEVICE)
    with pytest.raises(ChangeSetRejectedError, match=reason):
        _open(mutate(sealed))  # type: ignore[operator]


def _flip(envelope: bytes, part: int) -> bytes:
    parts = msgspec.msgpack.decode(envelope)
    field = bytearray(parts[part])
    field[len(field) // 2] ^= 0x01
    parts[part] = bytes(field)
    return msgspec.msgpack.encode(parts)


@pytest.mark.parametrize("part", [0, 1, 2, 3])
def test_any_flipped_bit_is_caught_by_the_signature(part: int) -> None:
    sealed = seal(_header(), _changes(), data_key=KEY, signing_key=DEVICE)
    with pytest.raises(ChangeSetRejectedError):
        _open(_flip(sealed, part))


def test_a_set_signed_by_another_device_is_rejected() -> None:
    sealed = seal(_header(), _changes(), data_key=KEY, signing_key=nacl.signing.SigningKey.generate())
    with pytest.raises(ChangeSetRejectedError, match="bad signature"):
        _open(sealed)


def test_a_set_under_another_key_cannot_be_opened() -> None:
    sealed = seal(_header(), _changes(), data_key=nacl.utils.random(32), signing_key=DEVICE)
    with pytest.raises(ChangeSetRejectedError, match="cannot decrypt"):
        _open(sealed)
    with pytest.raises(ChangeSetRejectedError, match="unknown key"):
        _open(seal(_header(), _changes(), data_key=KEY, signing_key=DEVICE), data_keys={"k2": KEY})


def test_a_set_replayed_into_another_account_is_rejected() -> None:
    sealed = seal(_header(account=uuid.uuid4()), _changes(), data_key=KEY, signing_key=DEVICE)
    with pytest.raises(ChangeSetRejectedError, match="another account"):
        _open(sealed)


def test_sequence_gaps_and_replays_are_rejected() -> None:
    second = seal(_header(seq=2), _changes(), data_key=KEY, signing_key=DEVICE)
    with pytest.raises(ChangeSetRejectedError, match="gap"):
        _open(second, last_seq=0)
    with pytest.raises(ChangeSetRejectedError, match="replayed"):
        _open(second, last_seq=2)
    assert _open(second, last_seq=1)[0].device_seq == 2


def test_sizes_that_share_a_bucket_are_stored_equal() -> None:
    small = seal(_header(), _changes(2), data_key=KEY, signing_key=DEVICE)
    larger = seal(_header(), _changes(3), data_key=KEY, signing_key=DEVICE)
    assert len(small) == len(larger)
    assert bucket_size(0) == 1024
    assert bucket_size(1024) == 2048


def test_long_histories_split_into_bounded_sets() -> None:
    batches = list(split_changes(_changes(2000), max_bytes=20_000))
    assert len(batches) > 1
    assert sum(len(b) for b in batches) == 2000
    for batch in batches:
        sealed = seal(_header(), batch, data_key=KEY, signing_key=DEVICE)
        assert len(sealed) < 64_000
