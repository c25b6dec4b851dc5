"""Typed HTTP clients for Prism's APIs (httpx + msgspec).

:class:`PrismClient` and :class:`AsyncPrismClient` speak the ``/api/v1`` API of a
device or hosted server (docs/api.md); :class:`RelayClient` speaks the blind relay's
signed device protocol, and the sync engine uses it. Every error they raise is a
:class:`ClientError` (``PrismClientError``), see :mod:`prism.client.errors`.
"""

from prism.client._transport import Retries
from prism.client.api import AsyncPrismClient, PrismClient, device_url
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
