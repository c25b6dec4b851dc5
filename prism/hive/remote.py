"""Talking to a hive over HTTP (httpx): snapshots, online lookups, contributions.

Network failures surface as :class:`ConnectionError` (an ``OSError``), which a
device treats as "offline" and answers from its cache; a hive's refusal (4xx) as a
:class:`~prism.errors.ValidationError` carrying the hive's problem detail.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec

from prism.errors import ValidationError
from prism.hive.snapshots import decode_snapshot
from prism.hive.wire import ContributionIn, ContributionOut, Resolution, ResolveOut, Snapshot

__all__ = ["HiveRemote"]

_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
_BATCH = 1000


class HiveRemote:
    """A hive at ``url`` (the server's base URL), with the bearer ``token`` it knows this device by."""

    def __init__(self, url: str, token: str | None, *, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=_TIMEOUT, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        try:
            response = self._client.request(method, path, **options)
        except httpx.TransportError as error:
            raise ConnectionError(f"the hive is unreachable: {error}") from None
        if response.status_code >= 500:
            raise ConnectionError(f"the hive answered {response.status_code}")
        if response.status_code >= 400:
            try:
                detail = str(response.json().get("detail", response.text))
            except ValueError:
                detail = response.text
            raise ValidationError(f"the hive refused: {detail}", field="hive")
        return response

    def snapshot(self, since: int) -> Snapshot:
        """The snapshot (``since`` 0) or the delta after ``since``."""
        response = self._send("GET", "/api/v1/hive/snapshot", params={"since": since})
        return decode_snapshot(response.content)

    def resolve(self, isins: list[str]) -> dict[str, Resolution | None]:
        """Online lookups, a thousand at a time: each ISIN's resolution, or None when unknown."""
        answers: dict[str, Resolution | None] = {}
        for start in range(0, len(isins), _BATCH):
            part = isins[start : start + _BATCH]
            response = self._send("POST", "/api/v1/hive/resolutions", json={"isins": part})
            found = msgspec.json.decode(response.content, type=ResolveOut)
            answers.update(dict.fromkeys(part))
            answers.update({item.isin: item for item in found.items})
        return answers

    def contribute(self, payload: ContributionIn) -> ContributionOut:
        """Send one contribution batch."""
        response = self._send(
            "POST",
            "/api/v1/hive/contributions",
            content=msgspec.json.encode(payload),
            headers={"Content-Type": "application/json"},
        )
        return msgspec.json.decode(response.content, type=ContributionOut)
