"""The OpenAPI document describes errors as they are answered: RFC 9457 problem details."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from prism.api.openapi_problems import Problem

SPEC = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def test_every_documented_error_is_a_problem_document() -> None:
    spec = json.loads(SPEC.read_text(encoding="utf-8"))
    errors = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    errors += 1
                    content = response["content"]
                    assert list(content) == ["application/problem+json"], (method, path, status)
                    assert content["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
    assert errors > 100


async def test_an_answered_error_fits_the_documented_schema(client: AsyncTestClient) -> None:  # type: ignore[type-arg]
    answers = [
        await client.post("/api/v1/portfolios", json={"name": "", "base_currency": "EURO"}),
        await client.post("/api/v1/portfolios", content=b"{not json"),
        await client.get("/api/v1/portfolios/00000000-0000-0000-0000-000000000000"),
    ]
    assert [answer.status_code for answer in answers] == [422, 400, 404]
    for answer in answers:
        assert answer.headers["content-type"].startswith("application/problem+json")
        found = msgspec.json.decode(answer.content, type=Problem)
        assert found.status == answer.status_code
