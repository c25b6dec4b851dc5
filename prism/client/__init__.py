"""Typed HTTP clients for Prism's APIs (httpx + msgspec).

It needs only the wire format, so third parties can depend on it alone. Today it
speaks to the blind relay (:class:`RelayClient`); the sync engine uses it too.
"""

from prism.client.errors import ClientError, RelayUnavailableError, RequestRejectedError
from prism.client.relay import DeviceEntry, EnvelopeEntry, JoinedEntry, PullPage, RelayClient, RelayIdentity, StoredSet
from prism.client.signing import request_signature_base, sign_request

__all__ = [
    "ClientError",
    "DeviceEntry",
    "EnvelopeEntry",
    "JoinedEntry",
    "PullPage",
    "RelayClient",
    "RelayIdentity",
    "RelayUnavailableError",
    "RequestRejectedError",
    "StoredSet",
    "request_signature_base",
    "sign_request",
]
