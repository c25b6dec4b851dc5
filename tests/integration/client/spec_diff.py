"""Where the client and an OpenAPI document disagree: missing methods, parameters, types.

Each operation of the spec under ``/api/v1`` is looked up in
:data:`prism.client.api_registry.OPERATIONS` and compared with the client method's
builder: path and query parameters (names, types, which are required), the body's
struct and the answer's struct (by name and by fields).
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
import uuid
from typing import Any

import msgspec

from prism.client import AsyncPrismClient, PrismClient
from prism.client._operations import Op
from prism.client.api_registry import OPERATIONS

__all__ = ["UNTYPED_IN_SPEC", "differences", "merged", "operations_of", "resolve"]

METHODS = ("get", "post", "put", "delete", "patch")

#: Operations whose spec does not say what they answer (schema ``{}``), and what the
#: client decodes instead. Each is a gap in the server's annotations, not in the client.
UNTYPED_IN_SPEC: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/imports"): "ImportReportOut",  # the handler returns Response[Any] (201 or 200 on a dry run)
    ("GET", "/api/v1/export"): "bytes",  # a Stream of the JSON document
}


def merged(*specs: dict[str, Any]) -> dict[str, Any]:
    """One document with the paths and component schemas of all ``specs``."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for spec in specs:
        for path, item in spec.get("paths", {}).items():
            paths.setdefault(path, {}).update(item)
        schemas.update(spec.get("components", {}).get("schemas", {}))
    return {"paths": paths, "components": {"schemas": schemas}}


def operations_of(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The spec's operations under ``/api/v1``, by (method, path)."""
    return {
        (method.upper(), path): operation
        for path, item in spec["paths"].items()
        if path.startswith("/api/v1/")
        for method, operation in item.items()
        if method in METHODS
    }


def resolve(target: str, sync: PrismClient, asynchronous: AsyncPrismClient) -> tuple[Op[Any, Any] | None, list[str]]:
    """The :class:`Op` behind ``"area.method"`` on both clients, or what is wrong with it."""
    area_name, _, method_name = target.partition(".")
    area = getattr(sync, area_name, None)
    if area is None:
        return None, [f"the client has no area {area_name!r}"]
    if type(getattr(asynchronous, area_name, None)) is not type(area):
        return None, [f"the async client's {area_name!r} is not the sync client's area"]
    op = vars(type(area)).get(method_name)
    if not isinstance(op, Op):
        return None, [f"{target} is not an operation of the client"]
    return op, []


def _ref_name(schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _struct_differences(where: str, kind: Any, schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    name = _ref_name(schema)
    if name is None:
        return [f"{where}: the spec has no named schema ({schema}) but the client uses {kind!r}"]
    if not (isinstance(kind, type) and issubclass(kind, msgspec.Struct)):
        return [f"{where}: the spec says {name} but the client uses {kind!r}"]
    # Litestar prefixes a name shared by two structs with their module path.
    if name != kind.__name__ and not name.endswith("_" + kind.__name__):
        return [f"{where}: the spec says {name} but the client uses {kind.__name__}"]
    spec_fields = set(components.get(name, {}).get("properties", {}))
    client_fields = {field.encode_name for field in msgspec.structs.fields(kind)}
    if spec_fields != client_fields:
        return [f"{where}: {name} has fields {sorted(spec_fields)} in the spec, {sorted(client_fields)} in the client"]
    return []


def _openapi_types(annotation: Any) -> set[str]:
    found: set[str] = set()
    for part in typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (annotation,):
        if part is type(None):
            continue
        if part is bool:
            found.add("boolean")
        elif part is int:
            found.add("integer")
        elif part is float:
            found.add("number")
        elif part in {str, uuid.UUID, dt.date, dt.datetime} or (isinstance(part, type) and issubclass(part, enum.Enum)):
            found.add("string")
        else:
            found.add(repr(part))
    return found


def _options(schema: dict[str, Any], components: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a parameter's schema, references resolved, null left out."""
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    resolved = [components.get(name, {}) if (name := _ref_name(o)) else o for o in options]
    return [option for option in resolved if option.get("type") != "null"]


def _spec_types(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    return {str(option["type"]) for option in _options(schema, components) if "type" in option}


def _spec_choices(schema: dict[str, Any], components: dict[str, Any]) -> list[Any] | None:
    return next((option["enum"] for option in _options(schema, components) if "enum" in option), None)


def _parameter_differences(
    where: str, op: Op[Any, Any], spec_op: dict[str, Any], hints: dict[str, Any], components: dict[str, Any]
) -> list[str]:
    found: list[str] = []
    parameters = dict(list(op.signature.parameters.items())[1:])  # without self
    spec_params = {p["name"]: p for p in spec_op.get("parameters", []) if p.get("in") in {"path", "query"}}
    spec_path = {name for name, p in spec_params.items() if p["in"] == "path"}
    if set(op.path_params) != spec_path:
        found.append(f"{where}: path parameters {sorted(spec_path)} in the spec, {op.path_params} in the client")
    client_query = {name for name in parameters if name not in op.path_params and name != "body"}
    spec_query = {name for name, p in spec_params.items() if p["in"] == "query"}
    if client_query != spec_query:
        found.append(
            f"{where}: query parameters {sorted(spec_query)} in the spec, {sorted(client_query)} in the client"
        )
    for name in sorted((client_query & spec_query) | (set(op.path_params) & spec_path)):
        spec_param, annotation = spec_params[name], hints[name]
        schema = spec_param.get("schema", {})
        if _openapi_types(annotation) != _spec_types(schema, components):
            found.append(f"{where}: {name} is {spec_param.get('schema')} in the spec, {annotation} in the client")
        required = parameters[name].default is parameters[name].empty
        if required != bool(spec_param.get("required", False)):
            found.append(
                f"{where}: {name} is required={spec_param.get('required')} in the spec, {required} in the client"
            )
        choices = _spec_choices(schema, components)
        members = [
            a for a in typing.get_args(annotation) or (annotation,) if isinstance(a, type) and issubclass(a, enum.Enum)
        ]
        if choices is not None and members and sorted(choices) != sorted(m.value for m in members[0]):
            found.append(f"{where}: {name} allows {choices} in the spec, {members[0]} in the client")
    return found


def _body_differences(
    where: str, spec_op: dict[str, Any], hints: dict[str, Any], components: dict[str, Any]
) -> list[str]:
    content = spec_op.get("requestBody", {}).get("content", {})
    if not content:
        return [f"{where}: the spec has no body but the client sends one"] if "body" in hints else []
    if "body" not in hints:
        return [f"{where}: the spec takes a body ({sorted(content)}) but the client sends none"]
    if "application/json" in content:
        return _struct_differences(
            f"{where} body", hints["body"], content["application/json"].get("schema", {}), components
        )
    if hints["body"] is not bytes:
        return [f"{where}: the spec takes {sorted(content)} but the client sends {hints['body']!r}"]
    return []


def _response_differences(
    where: str, key: tuple[str, str], spec_op: dict[str, Any], answer: Any, components: dict[str, Any]
) -> list[str]:
    success = sorted(code for code in spec_op.get("responses", {}) if code.startswith("2"))
    if not success:
        return [f"{where}: the spec names no successful answer"]
    content = spec_op["responses"][success[0]].get("content") or {}
    if not content:
        return [] if answer is type(None) else [f"{where}: the spec answers nothing but the client expects {answer!r}"]
    media, body = next(iter(content.items()))
    schema = body.get("schema", {})
    if schema == {}:
        expected = UNTYPED_IN_SPEC.get(key)
        if expected is None:
            return [
                f"{where}: the spec leaves the answer untyped; the client must say in UNTYPED_IN_SPEC what it decodes"
            ]
        return [] if getattr(answer, "__name__", None) == expected else [f"{where}: the client decodes {answer!r}"]
    if schema.get("type") == "string" and "$ref" not in schema:
        ok = answer is bytes
        return [] if ok else [f"{where}: the spec answers raw {media} but the client decodes {answer!r}"]
    if "$ref" not in schema:
        return [f"{where}: the spec answers {schema}; no struct to compare"] if answer is not dict else []
    return _struct_differences(f"{where} answer", answer, schema, components)


def differences(spec: dict[str, Any], registry: dict[tuple[str, str], str] = OPERATIONS) -> list[str]:
    """Every way the client (through ``registry``) disagrees with ``spec``; empty when they agree."""
    found: list[str] = []
    served = operations_of(spec)
    components = spec.get("components", {}).get("schemas", {})
    for key in sorted(set(served) - set(registry)):
        found.append(f"{key[0]} {key[1]}: no client method (add one and list it in prism/client/api_registry.py)")
    for key in sorted(set(registry) - set(served)):
        found.append(f"{key[0]} {key[1]}: the client has {registry[key]} but the spec has no such operation")
    # Never connected: the clients are only looked into.
    sync, asynchronous = PrismClient("http://127.0.0.1:9"), AsyncPrismClient("http://127.0.0.1:9")
    for key in sorted(set(served) & set(registry)):
        where = f"{key[0]} {key[1]} ({registry[key]})"
        op, problems = resolve(registry[key], sync, asynchronous)
        found += [f"{where}: {p}" for p in problems]
        if op is None:
            continue
        if (op.method, op.path) != key:
            found.append(f"{where}: the client sends {op.method} {op.path}")
        hints = typing.get_type_hints(op.build)
        answer = typing.get_args(hints["return"])[0]
        found += _parameter_differences(where, op, served[key], hints, components)
        found += _body_differences(where, served[key], hints, components)
        found += _response_differences(where, key, served[key], answer, components)
    sync.close()
    return found
