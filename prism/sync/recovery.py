"""The printable recovery key: 256 random bits in base32 groups with a checksum.

``ABCD-EFGH-...`` — 52 base32 characters of key and 4 of checksum (the first 20 bits of
BLAKE2b of the key), in groups of four. A mistyped or transposed character is caught
before anything is asked of the relay. Lose the passphrase, every device and this key,
and the data is gone: nobody else holds a way in.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from prism.errors import ValidationError

__all__ = ["format_recovery_key", "new_recovery_key", "parse_recovery_key"]

_KEY_BYTES = 32
_KEY_CHARS = 52  # ceil(256 / 5)
_CHECK_CHARS = 4


def new_recovery_key() -> bytes:
    """32 random bytes."""
    return secrets.token_bytes(_KEY_BYTES)


def _checksum(key: bytes) -> str:
    digest = hashlib.blake2b(key, digest_size=8, person=b"prism-rec-check").digest()
    return base64.b32encode(digest).decode()[:_CHECK_CHARS]


def format_recovery_key(key: bytes) -> str:
    """The key as people write it down: groups of four, checksum last."""
    text = base64.b32encode(key).decode().rstrip("=")[:_KEY_CHARS] + _checksum(key)
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def parse_recovery_key(text: str) -> bytes:
    """The key from what someone typed (case, spaces and dashes do not matter)."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.replace("0", "O").replace("1", "I").replace("8", "B")  # digits base32 never uses
    if len(cleaned) != _KEY_CHARS + _CHECK_CHARS:
        raise ValidationError(f"a recovery key has {_KEY_CHARS + _CHECK_CHARS} characters", field="recovery_key")
    body, check = cleaned[:_KEY_CHARS], cleaned[_KEY_CHARS:]
    try:
        key = base64.b32decode(body + "====")[:_KEY_BYTES]
    except ValueError:
        raise ValidationError("not a recovery key", field="recovery_key") from None
    # The last character carries one bit of key and four of padding: a typo there may
    # decode to the same key, so the text itself must be the key's own spelling.
    if len(key) != _KEY_BYTES or base64.b32encode(key).decode()[:_KEY_CHARS] != body or _checksum(key) != check:
        raise ValidationError("the checksum does not match: a character is mistyped", field="recovery_key")
    return key
