"""The committed OpenAPI document (docs/openapi.json) is what a server serves.

A route, parameter or struct that changes the served spec fails this test until the
document is regenerated, so every API change shows up in review as a diff of
docs/openapi.json. Breaking changes go to a new version prefix (docs/api.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner

from prism.api import create_app
from prism.cli import main
from prism.client.openapi_dump import DEFAULT_PATH, contract
from prism.config import load_settings
from tests.serving import served_app

REGENERATE = (
    "regenerate it with `python -m prism.client.openapi_dump` or `prism openapi --write docs/openapi.json`, "
    "then review the diff (docs/api.md: breaking changes go to a new version prefix) and commit it"
)
HOSTED_ONLY = "/api/v1/auth/"


def _served(tmp_path: Path, mode: str) -> dict[str, Any]:
    """What a server serves at /schema/openapi.json, without the examples Litestar makes up."""
    settings = load_settings({}, data_dir=tmp_path / mode, mode=mode)
    with served_app(create_app(settings)) as url:
        response = httpx.get(f"{url}/schema/openapi.json", timeout=30)
    response.raise_for_status()
    document: dict[str, Any] = contract(response.json())
    return document


def _committed() -> dict[str, Any]:
    document: dict[str, Any] = contract(json.loads(DEFAULT_PATH.read_text(encoding="utf-8")))
    return document


def _operations(document: dict[str, Any]) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


def _changes(committed: dict[str, Any], served: dict[str, Any]) -> list[str]:
    """What differs, briefly: operations added or removed, schemas and sections changed."""
    found = [f"served but not committed: {op}" for op in sorted(_operations(served) - _operations(committed))]
    found += [f"committed but no longer served: {op}" for op in sorted(_operations(committed) - _operations(served))]
    for path in sorted(set(committed["paths"]) & set(served["paths"])):
        if committed["paths"][path] != served["paths"][path]:
            found.append(f"changed: {path}")
    old, new = committed.get("components", {}).get("schemas", {}), served.get("components", {}).get("schemas", {})
    found += [f"changed schema: {name}" for name in sorted(set(old) | set(new)) if old.get(name) != new.get(name)]
    found += [
        f"changed: {key}"
        for key in sorted(set(committed) | set(served))
        if key not in {"paths", "components"} and committed.get(key) != served.get(key)
    ]
    return found


def test_the_served_spec_is_the_committed_one(tmp_path: Path) -> None:
    committed = _committed()
    served = _served(tmp_path, "device")
    assert served == committed, (
        f"docs/openapi.json is stale ({'; '.join(_changes(committed, served)[:20])}); {REGENERATE}"
    )


def test_a_hosted_server_serves_the_committed_spec_plus_its_sign_in(tmp_path: Path) -> None:
    committed = _committed()
    served = _served(tmp_path, "hosted")
    extra = {path for path in served["paths"] if path not in committed["paths"]}
    assert extra, "a hosted server serves /api/v1/auth/signup and /signin"
    assert all(path.startswith(HOSTED_ONLY) for path in extra), f"hosted-only paths outside {HOSTED_ONLY}: {extra}"
    shared = {path: item for path, item in served["paths"].items() if path not in extra}
    assert shared == committed["paths"], f"a hosted server's shared routes differ: {_changes(committed, served)[:20]}"


def test_a_stale_document_is_reported_by_operation() -> None:
    committed = _committed()
    served = json.loads(json.dumps(committed))
    served["paths"]["/api/v1/widgets"] = {"get": {}}
    del served["paths"]["/api/v1/portfolios"]["post"]
    assert _changes(committed, served) == [
        "served but not committed: GET /api/v1/widgets",
        "committed but no longer served: POST /api/v1/portfolios",
        "changed: /api/v1/portfolios",
    ]


def test_prism_openapi_writes_what_a_server_serves(tmp_path: Path) -> None:
    written = tmp_path / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "--write", str(written)])
    assert result.exit_code == 0, result.output
    assert contract(json.loads(written.read_text(encoding="utf-8"))) == _served(tmp_path, "device")
