"""Settings come from PRISM_* variables, overridden by flags."""

from pathlib import Path

import pytest

from prism.config import load_settings, normalize_database_url
from prism.errors import ValidationError


def test_defaults_put_the_device_database_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings({"PRISM_DATA_DIR": str(tmp_path)})
    assert settings.data_dir == tmp_path
    assert settings.database.url == f"sqlite:///{tmp_path / 'prism.db'}"
    assert settings.database.sqlite_path == tmp_path / "prism.db"
    assert settings.database.synchronous == "FULL"


def test_without_a_data_dir_the_xdg_folder_is_used() -> None:
    settings = load_settings({"XDG_DATA_HOME": "/srv/data"})
    assert settings.data_dir == Path("/srv/data/prism")


def test_flags_override_variables(tmp_path: Path) -> None:
    env = {"PRISM_DATABASE_URL": "sqlite:////elsewhere.db", "PRISM_DATABASE_POOL_SIZE": "9"}
    settings = load_settings(env, data_dir=tmp_path, database_url="postgresql://u:p@db/prism")
    assert settings.database.url == "postgresql+asyncpg://u:p@db/prism"
    assert settings.database.pool_size == 9
    assert not settings.database.is_sqlite


@pytest.mark.parametrize(
    ("variable", "value"),
    [("PRISM_DATABASE_POOL_SIZE", "many"), ("PRISM_SQLITE_SYNCHRONOUS", "sometimes")],
)
def test_bad_values_name_the_setting(variable: str, value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load_settings({variable: value})
    assert raised.value.field is not None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://h/db", "postgresql+asyncpg://h/db"),
        ("sqlite+aiosqlite:///x.db", "sqlite:///x.db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_get_prisms_drivers(given: str, expected: str) -> None:
    assert normalize_database_url(given) == expected
