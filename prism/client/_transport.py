"""Sending a :class:`~prism.client._operations.Request`: encoding, retries, decoding, errors.

The sync and async transports differ only in how they wait; what goes on the wire,
which failures are retried and how answers become structs or exceptions is shared.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from types import NoneType
from typing import Any

import httpx
import msgspec

from prism import __version__
from prism.client._operations import Request
from prism.client.errors import ClientError, TransportError, problem_error

__all__ = ["DEFAULT_TIMEOUT", "AsyncTransport", "Retries", "SyncTransport", "retry_after"]

DEFAULT_TIMEOUT = 30.0
#: Answers worth a second try of an idempotent call: the server was briefly unable.
_TRANSIENT = frozenset({429, 502, 503, 504})
_ENCODER = msgspec.json.Encoder(decimal_format="string")


@dataclass(frozen=True)
class Retries:
    """How often and how patiently idempotent calls are tried again.

    The wait doubles from ``backoff`` up to ``max_backoff`` with jitter; a server's
    ``Retry-After`` is honoured up to ``max_retry_after`` (a longer one is raised at once).
    """

    attempts: int = 3
    backoff: float = 0.2
    max_backoff: float = 5.0
    max_retry_after: float = 60.0

    def wait(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds before retry ``attempt`` (0-based), or None to give up."""
        if attempt >= self.attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return min(self.max_backoff, self.backoff * 2.0**attempt) * random.uniform(
            0.5, 1.0
        )  # jitter spreads clients that failed together


def _query_value(value: Any) -> Any:
    # UUIDs, dates, enums and decimals as their text; booleans stay booleans for httpx.
    return value if isinstance(value, bool | int | str) else msgspec.to_builtins(value)


def _path(request: Request[Any]) -> str:
    values = {
        name: urllib.parse.quote(str(_query_value(value)), safe="/" if name == "name" else "")
        for name, value in request.call.path.items()
    }
    return request.template.format(**values)


def _query(params: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _query_value(value) for name, value in params.items() if value is not None}


def _content(request: Request[Any]) -> bytes | None:
    body = request.call.body
    if body is None:
        return None
    if isinstance(body, bytes):
        return body
    return _ENCODER.encode(body)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the answer asks to wait (``Retry-After`` in seconds or as a date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form RFC 9110 allows: an HTTP date
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _failure(response: httpx.Response) -> ClientError:
    try:
        problem = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        problem = None
    if not isinstance(problem, dict):
        problem = {"title": response.reason_phrase, "status": response.status_code, "detail": response.text[:500]}
    return problem_error(response.status_code, problem, retry_after(response))


def _decoded(request: Request[Any], response: httpx.Response) -> Any:
    if response.status_code >= 400:
        raise _failure(response)
    kind = request.response
    if kind is NoneType:
        return None
    if kind is bytes:
        return response.content
    try:
        return msgspec.json.decode(response.content, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        target = getattr(kind, "__name__", str(kind))
        raise ClientError(f"{request.method} {request.template}: the answer is not a {target}: {error}") from error


def _retryable(request: Request[Any], outcome: httpx.Response | httpx.TransportError) -> bool:
    if isinstance(outcome, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # nothing reached the server: safe for any call
    if not request.idempotent:
        return False
    return isinstance(outcome, httpx.TransportError) or outcome.status_code in _TRANSIENT


class _Base:
    def __init__(self, retries: Retries, timeout: float) -> None:
        self.retries = retries
        self.timeout = timeout

    def _build(self, client: httpx.Client | httpx.AsyncClient, request: Request[Any]) -> httpx.Request:
        call = request.call
        headers = {"Content-Type": call.content_type} if call.body is not None else {}
        return client.build_request(
            request.method,
            _path(request),
            params=_query(call.query),
            content=_content(request),
            headers=headers,
            timeout=self.timeout + call.extra_timeout,
        )

    def _next_wait(
        self, request: Request[Any], attempt: int, outcome: httpx.Response | httpx.TransportError
    ) -> float | None:
        if not _retryable(request, outcome):
            return None
        asked = retry_after(outcome) if isinstance(outcome, httpx.Response) else None
        return self.retries.wait(attempt, asked)


def _headers(token: str | None) -> dict[str, str]:
    headers = {"Accept": "application/json", "User-Agent": f"prism-client/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


class SyncTransport(_Base):
    """Runs requests on an :class:`httpx.Client`."""

    asynchronous = False

    def __init__(
        self, base_url: str, token: str | None, *, timeout: float, retries: Retries, client: httpx.Client | None
    ) -> None:
        super().__init__(retries, timeout)
        self.http = client or httpx.Client(base_url=base_url, timeout=timeout)
        self.http.headers.update(_headers(token))

    def send(self, request: Request[Any], /) -> Any:
        """The decoded answer to ``request``, retried as :class:`Retries` allows."""
        attempt = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = self.http.send(self._build(self.http, request))
            except httpx.TransportError as error:
                outcome = error
            wait = self._next_wait(request, attempt, outcome)
            if wait is None:
                if isinstance(outcome, httpx.TransportError):
                    raise TransportError(f"{request.method} {request.template}: {outcome!r}") from outcome
                return _decoded(request, outcome)
            time.sleep(wait)
            attempt += 1

    def close(self) -> None:
        """Close the connections."""
        self.http.close()


class AsyncTransport(_Base):
    """Runs requests on an :class:`httpx.AsyncClient`."""

    asynchronous = True

    def __init__(
        self, base_url: str, token: str | None, *, timeout: float, retries: Retries, client: httpx.AsyncClient | None
    ) -> None:
        super().__init__(retries, timeout)
        self.http = client or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self.http.headers.update(_headers(token))

    async def send(self, request: Request[Any], /) -> Any:
        """The decoded answer to ``request``, retried as :class:`Retries` allows."""
        attempt = 0
        while True:
            outcome: httpx.Response | httpx.TransportError
            try:
                outcome = await self.http.send(self._build(self.http, request))
            except httpx.TransportError as error:
                outcome = error
            wait = self._next_wait(request, attempt, outcome)
            if wait is None:
                if isinstance(outcome, httpx.TransportError):
                    raise TransportError(f"{request.method} {request.template}: {outcome!r}") from outcome
                return _decoded(request, outcome)
            await asyncio.sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        """Close the connections."""
        await self.http.aclose()
