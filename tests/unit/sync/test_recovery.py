"""The printable recovery key: round trip, forgiving typing, caught typos."""

from __future__ import annotations

import pytest

from prism.errors import ValidationError
from prism.sync.recovery import format_recovery_key, new_recovery_key, parse_recovery_key


def test_a_recovery_key_reads_back_however_it_is_typed() -> None:
    key = new_recovery_key()
    printed = format_recovery_key(key)
    assert len(printed.split("-")) == 14  # 52 characters of key, 4 of checksum, in fours
    assert parse_recovery_key(printed) == key
    assert parse_recovery_key(printed.lower().replace("-", " ")) == key


@pytest.mark.parametrize("position", [0, 10, 30, 51, 54])
def test_one_mistyped_character_is_caught_by_the_checksum(position: int) -> None:
    printed = format_recovery_key(new_recovery_key()).replace("-", "")
    wrong = "B" if printed[position] != "B" else "C"
    with pytest.raises(ValidationError) as refused:
        parse_recovery_key(printed[:position] + wrong + printed[position + 1 :])
    assert refused.value.field == "recovery_key"


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_recovery_key("ABCD-EFGH")
