"""Opaque cursors for list routes: ``{"items": [...], "next_cursor": ...}``."""

from __future__ import annotations

import base64
import json
from typing import Any

from prism.errors import ValidationError

__all__ = ["MAX_LIMIT", "check_limit", "decode_cursor", "encode_cursor", "page_of"]

MAX_LIMIT = 1000


def encode_cursor(position: list[Any]) -> str:
    """A URL-safe cursor for the position after which the next page starts."""
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The position in ``cursor``, or a :class:`ValidationError` naming ``cursor``."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("is not a cursor this server issued", field="cursor") from None
    if not isinstance(position, list):
        raise ValidationError("is not a cursor this server issued", field="cursor")
    return position


def check_limit(limit: int) -> int:
    """A page size between 1 and :data:`MAX_LIMIT`."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError(f"must be between 1 and {MAX_LIMIT}", field="limit")
    return limit


def page_of(items: list[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """One page of an ordered list held in memory, with an offset cursor.

    For the small resources (portfolios, assets, settings); the ledger pages by keyset.
    """
    position = decode_cursor(cursor)
    start = position[0] if position and isinstance(position[0], int) and position[0] >= 0 else 0
    end = start + check_limit(limit)
    return items[start:end], encode_cursor([end]) if end < len(items) else None
