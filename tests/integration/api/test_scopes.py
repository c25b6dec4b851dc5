"""Every operation of the served OpenAPI document declares a scope, and every route
refuses a token lacking it and admits one holding just it (both databases)."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from prism.api.scopes import needed_scopes, rule_for
from prism.domain.scopes import ALL_SCOPES
from tests.integration.api.test_hosted import _bodies, _populate

Client = AsyncTestClient  # type: ignore[type-arg]
METHODS = {"get", "post", "put", "patch", "delete"}


async def _operations(client: Client) -> list[tuple[str, str]]:
    spec = (await client.get("/schema/openapi.json")).json()
    return [
        (method, path)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method in operations
        if method in METHODS
    ]


async def test_every_operation_of_the_spec_declares_a_scope(client: Client) -> None:
    operations = await _operations(client)
    assert len(operations) >= 60
    undeclared = [f"{method.upper()} {path}" for method, path in operations if rule_for(path) is None]
    assert undeclared == [], "add a rule to prism/api/scopes.py for these routes"


async def _token(client: Client, scopes: list[str]) -> dict[str, str]:
    response = await client.post("/api/v1/tokens", json={"scopes": scopes, "name": "walk"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


async def test_every_route_refuses_a_token_without_its_scope_and_admits_one_with_it(client: Client) -> None:
    ids = await _populate(client, {})
    bodies = _bodies(ids)
    walked = 0
    for method, path in await _operations(client):
        rule = rule_for(path)
        assert rule is not None
        needed = list(needed_scopes(method, rule))
        url = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)
        body: Any = bodies.get((method, path)) if method in {"post", "put", "patch"} else None
        without = await _token(client, sorted(ALL_SCOPES - set(needed)))
        denied = await client.request(method.upper(), url, json=body, headers=without)
        assert denied.status_code == 403, (method, path, denied.text)
        assert "lacks the scope" in denied.json()["detail"], (method, path)
        just = await _token(client, needed)
        allowed = await client.request(method.upper(), url, json=body, headers=just)
        refused_for_scope = allowed.status_code == 403 and "scope" in allowed.json().get("detail", "")
        assert not refused_for_scope, (method, path, allowed.text)
        assert allowed.status_code < 500, (method, path, allowed.text)
        walked += 1
    assert walked >= 60
