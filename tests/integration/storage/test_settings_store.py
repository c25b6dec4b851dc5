"""Settings in the store, on both databases."""

import pytest

from prism.errors import NotFoundError, ValidationError
from prism.storage.engine import Database
from prism.storage.settings import delete_setting, get_setting, list_settings, put_setting
from tests.builders import make_book


async def test_known_settings_have_defaults_until_set(db: Database) -> None:
    owner = (await make_book(db)).owner
    assert (await db.read(get_setting, owner, "hive_contribution_enabled")).value is False
    await db.write(put_setting, owner, "hive_contribution_enabled", "bool", True)
    assert (await db.read(get_setting, owner, "hive_contribution_enabled")).value is True
    await db.write(delete_setting, owner, "hive_contribution_enabled")
    assert (await db.read(get_setting, owner, "hive_contribution_enabled")).value is False


async def test_a_key_keeps_its_type_until_deleted(db: Database) -> None:
    owner = (await make_book(db)).owner
    await db.write(put_setting, owner, "ui.rows", "int", 50)
    with pytest.raises(ValidationError) as raised:
        await db.write(put_setting, owner, "ui.rows", "string", "fifty")
    assert raised.value.field == "type"
    await db.write(delete_setting, owner, "ui.rows")
    await db.write(put_setting, owner, "ui.rows", "string", "fifty")
    assert {s.key: s.value for s in await db.read(list_settings, owner)}["ui.rows"] == "fifty"


async def test_settings_are_per_owner(db: Database) -> None:
    mine, theirs = (await make_book(db)).owner, (await make_book(db)).owner
    await db.write(put_setting, theirs, "ui.theme", "string", "dark")
    with pytest.raises(NotFoundError):
        await db.read(get_setting, mine, "ui.theme")
    with pytest.raises(NotFoundError):
        await db.write(delete_setting, mine, "ui.theme")
