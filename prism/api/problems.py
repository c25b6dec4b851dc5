"""Errors as RFC 9457 problem details: the one place domain errors become HTTP.

Every error response is ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; errors about input add ``errors``, a list of
``{"field": ..., "message": ...}`` naming what to fix.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from prism.errors import (
    ChangeSetRejectedError,
    ConflictError,
    InsufficientHoldingsError,
    NotFoundError,
    PermissionDeniedError,
    PrismError,
    StorageError,
    ValidationError,
)

__all__ = ["PROBLEM_JSON", "exception_handlers", "problem"]

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger("prism.api")

_STATUS: list[tuple[type[PrismError], int, str]] = [
    (InsufficientHoldingsError, 422, "Not enough held"),
    (ValidationError, 422, "Invalid input"),
    (NotFoundError, 404, "Not found"),
    (PermissionDeniedError, 403, "Forbidden"),
    (ConflictError, 409, "Conflict"),
    (StorageError, 503, "Storage unavailable"),
    (ChangeSetRejectedError, 422, "Change set rejected"),
]
# msgspec names the culprit in its message: "... - at `$.date`", "unknown field `colour`".
_PATH = re.compile(r"`\$\.([\w.\[\]]+)`")
_NAMED = re.compile(r"(?:unknown|required) field `([^`]+)`")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Response[Any]:
    """A problem-details response."""
    body: dict[str, Any] = {"type": f"urn:prism:problem:{code}", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _prism_error(_: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    assert isinstance(error, PrismError)
    status, title = next(((s, t) for kind, s, t in _STATUS if isinstance(error, kind)), (400, "Bad request"))
    field = getattr(error, "field", None)
    errors = [{"field": field, "message": error.message}] if field else None
    return problem(status, error.code, title, str(error), errors)


def _field_of(item: dict[str, Any]) -> str:
    message = str(item.get("message", ""))
    found = _PATH.search(message) or _NAMED.search(message)
    if found:
        return found.group(1)
    key = item.get("key")
    return str(key) if key and key != "data" else "body"


def _validation(_: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    assert isinstance(error, ValidationException)
    extra = error.extra if isinstance(error.extra, list) else []
    errors = [
        {"field": _field_of(item), "message": str(item.get("message", ""))} for item in extra if isinstance(item, dict)
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or error.detail
    return problem(400, "malformed-request", "Malformed request", detail, errors or None)


def _http(_: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    assert isinstance(error, HTTPException)
    phrase = HTTPStatus(error.status_code).phrase
    code = re.sub(r"[^a-z]+", "-", phrase.lower()).strip("-")
    # Keep what the exception asked the client to do (Retry-After, Allow, ...).
    return problem(error.status_code, code, phrase, error.detail, None, headers=dict(error.headers or {}))


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR, "internal-error", "Internal error", "an unexpected error; it was logged"
    )


#: Handlers for Litestar's ``exception_handlers``.
exception_handlers: ExceptionHandlersMap = {
    PrismError: _prism_error,
    ValidationException: _validation,
    HTTPException: _http,
    Exception: _unexpected,
}
