"""Every operation the server serves under /api/v1 has a client method with the spec's types."""

from __future__ import annotations

import copy
from typing import Any

from prism.client.api_registry import EXCLUDED_PREFIXES
from tests.integration.client.spec_diff import differences, merged, operations_of


def test_every_served_operation_has_a_client_method_with_its_types(specs: dict[str, dict[str, Any]]) -> None:
    spec = merged(specs["device"], specs["hosted"])
    assert len(operations_of(spec)) >= 70
    assert differences(spec) == []


def test_an_operation_without_a_client_method_is_reported(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(merged(specs["device"], specs["hosted"]))
    spec["paths"]["/api/v1/widgets"] = {"get": {"responses": {"200": {}}}}
    assert differences(spec) == [
        "GET /api/v1/widgets: no client method (add one and list it in prism/client/api_registry.py)"
    ]


def test_a_renamed_query_parameter_is_reported(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(merged(specs["device"], specs["hosted"]))
    for parameter in spec["paths"]["/api/v1/transactions"]["get"]["parameters"]:
        if parameter["name"] == "portfolio_id":
            parameter["name"] = "portfolio"
    found = differences(spec)
    assert len(found) == 1
    assert "query parameters" in found[0]
    assert "'portfolio'" in found[0]


def test_a_parameter_of_another_type_is_reported(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(merged(specs["device"], specs["hosted"]))
    for parameter in spec["paths"]["/api/v1/transactions"]["get"]["parameters"]:
        if parameter["name"] == "limit":
            parameter["schema"] = {"type": "string"}
    found = differences(spec)
    assert len(found) == 1
    assert "limit is" in found[0]


def test_an_answer_of_another_struct_is_reported(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(merged(specs["device"], specs["hosted"]))
    answer = spec["paths"]["/api/v1/portfolios/{portfolio_id}"]["get"]["responses"]["200"]["content"]
    answer["application/json"]["schema"] = {"$ref": "#/components/schemas/AssetOut"}
    found = differences(spec)
    assert found == [
        "GET /api/v1/portfolios/{portfolio_id} (portfolios.get) answer: "
        "the spec says AssetOut but the client uses PortfolioOut"
    ]


def test_a_struct_field_the_client_lacks_is_reported(specs: dict[str, dict[str, Any]]) -> None:
    spec = copy.deepcopy(merged(specs["device"], specs["hosted"]))
    spec["components"]["schemas"]["PortfolioIn"]["properties"]["colour"] = {"type": "string"}
    found = differences(spec)
    assert found
    assert all("PortfolioIn has fields" in line for line in found)


def test_every_served_path_is_in_the_client_or_excluded_with_a_reason(specs: dict[str, dict[str, Any]]) -> None:
    spec = merged(specs["device"], specs["hosted"])
    outside = [
        path
        for path in spec["paths"]
        if not path.startswith("/api/v1/") and not any(path.startswith(prefix) for prefix in EXCLUDED_PREFIXES)
    ]
    assert outside == [], "add a client area for these paths, or list them in api_registry.EXCLUDED_PREFIXES"
