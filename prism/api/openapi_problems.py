"""The OpenAPI document tells the truth about errors: RFC 9457 problem details.

Litestar documents a request it cannot parse as its own ``{"status_code", "detail",
"extra"}`` body; Prism answers every error as ``application/problem+json``
(:mod:`prism.api.problems`). :func:`document_problems` declares, on every route of an
app, the error statuses the route can answer, each with the :class:`Problem` schema:

* 400 (a malformed request) and 422 (input that breaks a rule) on every route that
  takes input (a body, a path or query parameter);
* 401 (no or a bad token), 403 (a token without the scope) and 429 (over the token's
  rate limit) on every route behind the token guard;
* 404 on every route with a path parameter; 409 on every write;
* 503 everywhere (the database or the lake failed).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute

from prism.api.problems import PROBLEM_JSON

__all__ = ["FieldProblem", "Problem", "document_problems"]


class FieldProblem(msgspec.Struct, kw_only=True):
    """What is wrong with one field of the input."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An error, as RFC 9457 problem details."""

    type: str  # urn:prism:problem:<code>, e.g. urn:prism:problem:validation-error
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None  # input errors: each field to fix


_MEANING = {
    400: "The request could not be read (malformed JSON, a parameter of the wrong type)",
    401: "No bearer token, or one that is not valid",
    403: "The token may not do this (a missing scope, or another portfolio)",
    404: "No such row for this account",
    409: "The write conflicts with stored data",
    422: "The input breaks a rule; `errors` names each field",
    429: "Over the token's rate limit; see Retry-After",
    503: "The database or the lake failed; try again",
}
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _spec(status: int) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem, description=_MEANING[status], media_type=PROBLEM_JSON, generate_examples=False
    )


def _statuses(route: HTTPRoute, handler: HTTPRouteHandler) -> list[int]:
    found = [503]
    takes_input = bool(handler.parsed_fn_signature.parameters) or "{" in route.path
    if takes_input:
        found += [400, 422]
    if handler.resolve_guards():
        found += [401, 403, 429]
    if "{" in route.path:
        found.append(404)
    if handler.http_methods & _WRITES:
        found.append(409)
    return sorted(found)


def document_problems(app: Litestar) -> None:
    """Declare each route's error responses as problem details (before the document is built)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith(("/api/", "/relay/")):
            continue
        for handler in route.route_handlers:
            declared: dict[int, Any] = dict(handler.responses or {})
            for status in _statuses(route, handler):
                declared.setdefault(status, _spec(status))
            handler.responses = declared
