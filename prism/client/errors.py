"""What the clients raise: one root, split by what the caller should do about it."""

from __future__ import annotations

from typing import Any

from prism.errors import PrismError

__all__ = ["ClientError", "RelayUnavailableError", "RequestRejectedError"]


class ClientError(PrismError):
    """Root of everything a Prism HTTP client raises."""


class RelayUnavailableError(ClientError):
    """The server could not be reached or failed (network error, 5xx): try again later."""


class RequestRejectedError(ClientError):
    """The server refused the request (4xx); retrying the same request will not help.

    ``problem`` holds the RFC 9457 problem details the server answered.
    """

    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        detail = problem.get("detail") or problem.get("title") or "request refused"
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.problem = problem
