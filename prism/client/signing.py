"""Signed relay requests (docs/sync-protocol.md §6): what a device signs, and the headers."""

from __future__ import annotations

import base64
import hashlib
import uuid

import nacl.signing

__all__ = ["request_signature_base", "sign_request"]


def request_signature_base(method: str, path: str, timestamp: int, body: bytes) -> bytes:
    """What a device signs for one request."""
    return f"{method.upper()}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign_request(
    signing_key: nacl.signing.SigningKey,
    account_id: uuid.UUID,
    device_id: str,
    *,
    method: str,
    path: str,
    body: bytes,
    now: float,
) -> dict[str, str]:
    """The headers that authenticate one request to the relay."""
    timestamp = int(now)
    signature = signing_key.sign(request_signature_base(method, path, timestamp, body)).signature
    return {
        "X-Prism-Account": str(account_id),
        "X-Prism-Device": device_id,
        "X-Prism-Time": str(timestamp),
        "X-Prism-Signature": base64.b64encode(signature).decode(),
    }
