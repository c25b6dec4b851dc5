"""The snapshot format: msgpack rows in zstd, read back only when it is one."""

from __future__ import annotations

import datetime as dt

import pytest
import zstandard

from prism.errors import ValidationError
from prism.hive.pseudonyms import address_bucket, epoch_of, pseudonym
from prism.hive.snapshots import decode_snapshot, encode_snapshot
from prism.hive.wire import FORMAT, AssetRow, FundRow, Snapshot


def _snapshot(format_name: str = FORMAT) -> Snapshot:
    return Snapshot(
        format=format_name,
        version=7,
        since=3,
        assets=[AssetRow("US0378331005", "active", 2, {"name": ("Apple", "1", 2)})],
        listings=[],
        aliases=[],
        provider_mappings=[],
        funds=[
            FundRow("IE00B4L5Y983", dt.date(2025, 12, 1), "1", 1, [("US0378331005", None, "1", "US", None, None, None)])
        ],
    )


def test_a_snapshot_reads_back_as_written() -> None:
    assert decode_snapshot(encode_snapshot(_snapshot())) == _snapshot()


def test_anything_else_is_refused() -> None:
    with pytest.raises(ValidationError):
        decode_snapshot(b"not zstd")
    with pytest.raises(ValidationError):
        decode_snapshot(zstandard.ZstdCompressor().compress(b"\x93\x01\x02\x03"))
    with pytest.raises(ValidationError) as other:
        decode_snapshot(encode_snapshot(_snapshot("prism-hive/2")))
    assert other.value.field == "snapshot"


def test_pseudonyms_depend_on_the_secret_and_hide_the_identity() -> None:
    one, two = b"a" * 32, b"b" * 32
    account = "account:5f0c7d4e-3c1b-4b1e-9a57-2f1d1e8f4a10"
    assert pseudonym(one, account) == pseudonym(one, account)
    assert pseudonym(one, account) != pseudonym(two, account)
    assert pseudonym(one, account) != pseudonym(one, "account:other")
    assert "5f0c7d4e" not in pseudonym(one, account)
    assert len(address_bucket(one, "203.0.113.7")) == 5  # 20 bits: a bucket many addresses share


def test_epochs_are_thirty_days() -> None:
    assert epoch_of(dt.date(1970, 1, 30)) == 0
    assert epoch_of(dt.date(1970, 1, 31)) == 1
