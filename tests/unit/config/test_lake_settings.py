"""Where the lake lives is read from PRISM_LAKE_* variables, with a folder by default."""

from __future__ import annotations

from pathlib import Path

import pytest

from prism.config import load_settings
from prism.errors import ValidationError


def test_the_lake_defaults_to_a_folder_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings({}, data_dir=tmp_path)
    assert settings.lake_settings.url == str(tmp_path / "lake")
    assert not settings.lake_settings.is_s3
    assert settings.lake_lock_path == tmp_path / "lake.lock"


def test_an_s3_lake_takes_its_endpoint_and_credentials_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "PRISM_LAKE_URL": "s3://market/prism",
            "PRISM_LAKE_S3_ENDPOINT": "http://127.0.0.1:9000",
            "PRISM_LAKE_S3_REGION": "eu-central-1",
            "PRISM_LAKE_S3_ACCESS_KEY_ID": "key",
            "PRISM_LAKE_S3_SECRET_ACCESS_KEY": "secret",
        },
        data_dir=tmp_path,
    )
    lake = settings.lake_settings
    assert (lake.is_s3, lake.s3_endpoint, lake.s3_region) == (True, "http://127.0.0.1:9000", "eu-central-1")
    assert "secret" not in repr(lake)


def test_a_bad_memory_limit_names_its_variable(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        load_settings({"PRISM_LAKE_MEMORY_MB": "lots"}, data_dir=tmp_path)
    assert raised.value.field == "PRISM_LAKE_MEMORY_MB"
