"""Webhook signatures: what verifies, and what must not."""

from __future__ import annotations

import hashlib
import hmac

from prism.integrations.signing import sign, verify

SECRET = "whsec_test"
BODY = b'{"changes":[]}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify(SECRET, BODY, header, now=1_700_000_010)


def test_a_changed_body_secret_or_timestamp_does_not_verify() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify(SECRET, BODY + b" ", header, now=1_700_000_000)
    assert not verify("whsec_other", BODY, header, now=1_700_000_000)
    moved = header.replace("t=1700000000", "t=1700000001")
    assert not verify(SECRET, BODY, moved, now=1_700_000_000)


def test_an_old_delivery_is_refused_as_a_replay() -> None:
    header = sign(SECRET, BODY, timestamp=1_700_000_000)
    assert not verify(SECRET, BODY, header, now=1_700_000_000 + 301)
    assert verify(SECRET, BODY, header, now=1_700_000_000 + 299)


def test_malformed_headers_do_not_verify() -> None:
    for header in ("", "v1=abc", "t=soon,v1=abc", "garbage"):
        assert not verify(SECRET, BODY, header)
