"""A backup repository kept on a Prism server: the :class:`BlobStore` behind
``PRISM_BACKUP_REPOSITORY=relay``.

The server's ``/api/v1/backup/blobs`` routes (docs/backup-operations.md) keep the
account's blobs opaque; everything is encrypted before it leaves the device. Every
call is idempotent (a put replaces, a delete of an absent blob succeeds), so each is
retried with exponential backoff when the network or the server fails (connection
errors, 5xx, 429). Answers become Prism's errors: 404 -> :class:`NotFoundError`,
422/413 -> :class:`ValidationError`, 401/403 -> :class:`PermissionDeniedError`, and
a server still unreachable after the retries -> :class:`StorageError`.

Synchronous, like every store: backups run in a worker thread.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self
from urllib.parse import quote

import httpx

from prism.config import Settings
from prism.errors import NotFoundError, PermissionDeniedError, PrismError, StorageError, ValidationError
from prism.storage.backup_blobs import check_blob_name, check_blob_prefix

__all__ = ["RelayBackupTarget", "RelayStore", "relay_target"]

_ROUTES = "/api/v1/backup/blobs"
_RETRIED = {429, 500, 502, 503, 504}
_PAGE = 1000
# The store's ``list`` method shadows the builtin inside the class body.
_Names = list[str]
_Listing = list[tuple[str, int]]


class RelayBackupTarget(NamedTuple):
    """Where a relay repository lives: the server's base URL and the bearer token to use."""

    url: str
    token: str

    def __repr__(self) -> str:  # never print the token
        return f"RelayBackupTarget(url={self.url!r})"


def relay_target(settings: Settings, token: str | None = None) -> RelayBackupTarget:
    """The relay this device backs up to: ``PRISM_SYNC_RELAY`` and a bearer token.

    ``token`` is an account's token from signing in to a hosted server; without one the
    device's own API token (``<data dir>/api-token``) is used, which a Prism server
    run by the same person on another machine of theirs accepts.
    """
    url = settings.sync.relay_url
    if not url:
        raise ValidationError("no relay is configured for relay backups", field="PRISM_SYNC_RELAY")
    if token is None:
        token = _read_token(settings.token_path)
    return RelayBackupTarget(url.rstrip("/"), token)


def _read_token(path: Path) -> str:
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    if not token:
        raise ValidationError(f"no API token in {path}", field="token")
    return token


class RelayStore:
    """The blob store of one account on a Prism server, over HTTP (httpx, synchronous)."""

    def __init__(
        self,
        target: RelayBackupTarget,
        *,
        attempts: int = 5,
        backoff_seconds: float = 0.25,
        timeout: float = 60.0,
        page_size: int = _PAGE,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.target = target
        self.attempts = max(1, attempts)
        self.backoff_seconds = backoff_seconds
        self.page_size = page_size
        self._http = httpx.Client(
            base_url=target.url + _ROUTES,
            headers={"Authorization": f"Bearer {target.token}"},
            timeout=timeout,
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def put(self, name: str, data: bytes) -> None:
        """Store ``data`` as ``name``; the server replaces it atomically."""
        headers = {"Content-Type": "application/octet-stream"}
        self._send("PUT", _path(name), content=data, headers=headers)

    def get(self, name: str) -> bytes:
        """The blob's bytes; :class:`NotFoundError` when absent."""
        return self._send("GET", _path(name)).content

    def list(self, prefix: str) -> _Names:
        """Names starting with ``prefix``, sorted (every page)."""
        return [name for name, _size in self._listing(prefix)]

    def delete(self, name: str) -> None:
        """Remove the blob; absent is fine."""
        self._send("DELETE", _path(name))

    def size(self, name: str) -> int:
        """The blob's size in bytes; :class:`NotFoundError` when absent."""
        # A name sorts first among the names it prefixes: one item tells.
        page = self._send("GET", "", params={"prefix": check_blob_name(name), "limit": 1}).json()
        items = page.get("items") or []
        if not items or items[0].get("name") != name:
            raise NotFoundError(f"no backup blob {name!r} on the relay")
        return int(items[0]["size"])

    def sizes(self, prefix: str) -> dict[str, int]:
        """Every blob under ``prefix`` with its size (one listing, for reports)."""
        return dict(self._listing(prefix))

    def _listing(self, prefix: str) -> _Listing:
        params: dict[str, Any] = {"prefix": check_blob_prefix(prefix), "limit": self.page_size}
        found: _Listing = []
        while True:
            page = self._send("GET", "", params=params).json()
            found.extend((str(item["name"]), int(item["size"])) for item in page.get("items", []))
            cursor = page.get("next_cursor")
            if not cursor:
                return found
            params["cursor"] = cursor

    def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        failure = ""
        for attempt in range(self.attempts):
            if attempt:
                time.sleep(self._delay(attempt, failure))
            try:
                response = self._http.request(method, path, content=content, params=params, headers=headers)
            except httpx.TransportError as error:
                failure = f"unreachable: {error!r}"
                continue
            if response.status_code in _RETRIED:
                failure = f"answered {response.status_code}"
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    failure += f"; retry after {retry_after}"
                continue
            if response.status_code >= 400:
                raise _refusal(response, path)
            return response
        raise StorageError(f"the backup relay {self.target.url} {failure} (after {self.attempts} attempts)")

    def _delay(self, attempt: int, failure: str) -> float:
        delay = self.backoff_seconds * 2.0 ** (attempt - 1)
        if "retry after " in failure:
            delay = max(delay, float(failure.rsplit(" ", 1)[1]))
        return min(delay, 30.0)


def _path(name: str) -> str:
    return "/" + quote(check_blob_name(name), safe="/")


def _refusal(response: httpx.Response, path: str) -> PrismError:
    try:
        problem: dict[str, Any] = response.json()
    except ValueError:
        problem = {}
    detail = str(problem.get("detail") or problem.get("title") or response.reason_phrase)
    status = response.status_code
    if status == 404:
        return NotFoundError(f"no backup blob {path.lstrip('/')!r} on the relay")
    if status in {401, 403}:
        return PermissionDeniedError(f"the backup relay refused the token: {detail}")
    if status == 413:
        return ValidationError("the blob is larger than the relay accepts", field="data")
    errors = problem.get("errors") or [{}]
    field = errors[0].get("field") if isinstance(errors[0], dict) else None
    return ValidationError(f"the backup relay refused the request: {detail}", field=field or "request")
