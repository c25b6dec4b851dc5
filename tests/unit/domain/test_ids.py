"""Deterministic ids converge across devices; others sort by time."""

import uuid

from prism.domain.ids import EntryClock, asset_id, imported_transaction_id, new_id, tag_id


def test_the_same_natural_key_gives_the_same_id_on_every_device() -> None:
    owner = uuid.uuid4()
    assert asset_id(owner, "IE00B4L5Y983") == asset_id(owner, "ie00b4l5y983")
    assert tag_id(owner, "Dividend ") == tag_id(owner, "dividend")
    assert imported_transaction_id(owner, "tr", "42") == imported_transaction_id(owner, "tr", "42")


def test_natural_keys_do_not_collide_across_accounts_or_kinds() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    assert asset_id(first, "IE00B4L5Y983") != asset_id(second, "IE00B4L5Y983")
    assert tag_id(first, "IE00B4L5Y983") != asset_id(first, "IE00B4L5Y983")


def test_new_ids_are_uuid7_in_creation_order() -> None:
    ids = [new_id() for _ in range(100)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)


def test_entry_clock_never_repeats_or_goes_back() -> None:
    clock = EntryClock()
    stamps = [clock.next() for _ in range(10_000)]
    assert stamps == sorted(set(stamps))
