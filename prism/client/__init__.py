"""Typed HTTP clients for Prism's APIs (httpx + msgspec).

:class:`PrismClient` and :class:`AsyncPrismClient` speak the ``/api/v1`` API of a
device or hosted server (docs/api.md); :class:`RelayClient` speaks the blind relay's
signed device protocol, and the sync engine uses it. Every error they raise is a
:class:`ClientError` (``PrismClientError``), see :mod:`prism.client.errors`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from prism.client.errors import (
    ClientError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PrismClientError,
    ProblemError,
    RateLimited,
    RelayUnavailableError,
    RequestRejectedError,
    ServerError,
    TransportError,
    Unauthorized,
    UnavailableError,
)
from prism.client.relay import DeviceEntry, EnvelopeEntry, JoinedEntry, PullPage, RelayClient, RelayIdentity, StoredSet
from prism.client.signing import request_signature_base, sign_request

if TYPE_CHECKING:
    from prism.client._transport import Retries
    from prism.client.api import AsyncPrismClient, PrismClient, device_url

__all__ = [
    "AsyncPrismClient",
    "ClientError",
    "Conflict",
    "DeviceEntry",
    "EnvelopeEntry",
    "Forbidden",
    "InvalidRequest",
    "JoinedEntry",
    "NotFound",
    "PrismClient",
    "PrismClientError",
    "ProblemError",
    "PullPage",
    "RateLimited",
    "RelayClient",
    "RelayIdentity",
    "RelayUnavailableError",
    "RequestRejectedError",
    "Retries",
    "ServerError",
    "StoredSet",
    "TransportError",
    "Unauthorized",
    "UnavailableError",
    "device_url",
    "request_signature_base",
    "sign_request",
]

# The API client imports the server's structs, and with them the server's modules: only
# a program that uses it pays for that (the sync engine and backups use the relay client).
_LAZY = {
    "AsyncPrismClient": "prism.client.api",
    "PrismClient": "prism.client.api",
    "device_url": "prism.client.api",
    "Retries": "prism.client._transport",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
