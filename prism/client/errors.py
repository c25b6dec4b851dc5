"""What the clients raise: one root, split by what the caller should do about it.

Everything derives from :class:`ClientError` (also exported as ``PrismClientError``)::

    ClientError
    ├── RelayUnavailableError        try again later (alias UnavailableError)
    │   ├── TransportError           the server could not be reached, or timed out
    │   └── ServerError              5xx (also a ProblemError)
    └── ProblemError                 the server answered RFC 9457 problem details
        ├── ServerError
        └── RequestRejectedError     4xx: the same request will fail again
            ├── InvalidRequest       400, 422 (``field`` names the culprit)
            ├── Unauthorized         401
            ├── Forbidden            403
            ├── NotFound             404
            ├── Conflict             409
            └── RateLimited          429 (``retry_after`` seconds)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prism.errors import PrismError

__all__ = [
    "ClientError",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "PrismClientError",
    "ProblemError",
    "RateLimited",
    "RelayUnavailableError",
    "RequestRejectedError",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "UnavailableError",
    "problem_error",
]


class ClientError(PrismError):
    """Root of everything a Prism HTTP client raises."""


PrismClientError = ClientError


class RelayUnavailableError(ClientError):
    """The server could not be reached or failed (network error, 5xx): try again later."""


UnavailableError = RelayUnavailableError


class TransportError(RelayUnavailableError):
    """No answer: the connection failed, broke, or timed out."""


class ProblemError(ClientError):
    """The server answered an error as RFC 9457 problem details.

    ``problem`` is the whole document; ``code`` is its type without the
    ``urn:prism:problem:`` prefix; ``errors`` lists ``{"field", "message"}`` items and
    ``field`` is the first field named, if any.
    """

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or "request refused"
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.problem = dict(problem)
        kind = str(problem.get("type", ""))
        self.code = kind.removeprefix("urn:prism:problem:")
        self.title = str(problem.get("title", ""))
        self.detail = str(detail)
        raw = problem.get("errors")
        self.errors: list[dict[str, str]] = [
            {"field": str(item.get("field", "")), "message": str(item.get("message", ""))}
            for item in (raw if isinstance(raw, list) else [])
            if isinstance(item, dict)
        ]
        self.field: str | None = self.errors[0]["field"] if self.errors else None


class RequestRejectedError(ProblemError):
    """The server refused the request (4xx); retrying the same request will not help."""


class InvalidRequest(RequestRejectedError):
    """400 or 422: the input is wrong; ``field`` and ``errors`` say where."""


class Unauthorized(RequestRejectedError):
    """401: no token, a wrong one, or one that expired or was revoked."""


class Forbidden(RequestRejectedError):
    """403: the token may not do this (its scopes, or the server's role)."""


class NotFound(RequestRejectedError):
    """404: no such resource for this account."""


class Conflict(RequestRejectedError):
    """409: the resource's state forbids it (in use, not empty, already exists)."""


class RateLimited(RequestRejectedError):
    """429: too many requests; ``retry_after`` is how many seconds to wait (None if unsaid)."""

    def __init__(self, status: int, problem: Mapping[str, Any], retry_after: float | None = None) -> None:
        super().__init__(status, problem)
        self.retry_after = retry_after


class ServerError(ProblemError, RelayUnavailableError):
    """5xx: the server failed; the request may succeed later."""


_BY_STATUS: dict[int, type[RequestRejectedError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidRequest,
}


def problem_error(status: int, problem: Mapping[str, Any], retry_after: float | None = None) -> ProblemError:
    """The exception for an error answer: its class chosen by ``status``."""
    if status == 429:
        return RateLimited(status, problem, retry_after)
    if status >= 500:
        return ServerError(status, problem)
    return _BY_STATUS.get(status, RequestRejectedError)(status, problem)
