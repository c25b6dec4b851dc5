"""``prism token create|list|revoke`` on both databases; a created token works on the API."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.cli import main
from prism.cli.tokens import parse_lifetime
from prism.config import load_settings
from prism.errors import ValidationError


def _prism(*args: str, database_url: str, tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main, ["--data-dir", str(tmp_path), "--database-url", database_url, *args], catch_exceptions=False
    )
    return result.exit_code, result.output


def _field(output: str, name: str) -> str:
    return next(line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith(f"{name}:"))


def test_lifetimes_are_a_number_and_a_unit() -> None:
    assert parse_lifetime("30d").days == 30
    assert parse_lifetime("90s").total_seconds() == 90
    with pytest.raises(ValidationError):
        parse_lifetime("30 days")


def test_create_list_and_revoke_a_token(database_url: str, tmp_path: Path) -> None:
    args = {"database_url": database_url, "tmp_path": tmp_path}
    code, output = _prism(
        "token", "create", "--scope", "read:portfolio", "--scope", "read:transactions", "--expires", "30d", **args
    )
    assert code == 0, output
    token, token_id = _field(output, "token"), _field(output, "id")
    assert token.startswith("prism_")
    code, listed = _prism("token", "list", **args)
    assert token_id in listed
    assert "read:portfolio read:transactions" in listed
    assert token not in listed

    async def calls() -> tuple[int, int]:
        settings = load_settings({}, data_dir=tmp_path, database_url=database_url)
        async with AsyncTestClient(create_app(settings)) as client:
            headers = {"Authorization": f"Bearer {token}"}
            read = await client.get("/api/v1/portfolios", headers=headers)
            write = await client.post("/api/v1/portfolios", json={"name": "X", "base_currency": "EUR"}, headers=headers)
            return read.status_code, write.status_code

    assert asyncio.run(calls()) == (200, 403)
    code, output = _prism("token", "revoke", token_id, **args)
    assert code == 0, output
    assert token_id not in _prism("token", "list", **args)[1]
    code, output = _prism("token", "create", "--scope", "read:portfolio", "--portfolio", "Nope", **args)
    assert code != 0
    assert "no portfolio named 'Nope'" in output
    code, output = _prism("token", "create", "--scope", "root", **args)
    assert code != 0
