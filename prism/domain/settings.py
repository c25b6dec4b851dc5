"""Typed user settings: each key has one type, and values are stored as tagged text.

Known keys (:data:`KNOWN_SETTINGS`) have a fixed type and a default; other keys may
hold any supported type, fixed by their first write. The stored text is JSON, except
decimals, which are stored as canonical decimal strings so they stay exact.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from prism.domain.money import canonical, parse_currency, parse_decimal
from prism.errors import ValidationError

__all__ = ["KNOWN_SETTINGS", "Setting", "SettingType", "decode_setting", "encode_setting", "validate_key"]

JsonValue = bool | int | str | Decimal | list[object] | dict[str, object] | None


class SettingType(StrEnum):
    """The type of a setting's value."""

    BOOL = "bool"
    INT = "int"
    DECIMAL = "decimal"
    STRING = "string"
    CURRENCY = "currency"
    JSON = "json"


class Setting(NamedTuple):
    """A setting as the application sees it."""

    key: str
    type: SettingType
    value: JsonValue


#: Settings Prism itself reads, with their types and defaults.
KNOWN_SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        # The existing desktop app's only user setting; off unless the user opts in.
        Setting("hive_contribution_enabled", SettingType.BOOL, False),
        Setting("base_currency", SettingType.CURRENCY, "EUR"),
        Setting("cost_method", SettingType.STRING, "fifo"),
    )
}

_KEY = re.compile(r"^[a-z][a-z0-9_.-]{0,99}$")


def validate_key(key: object) -> str:
    """A setting key: lower case letters, digits, ``_ . -``; at most 100 characters."""
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValidationError(
            "must be 1-100 characters of a-z, 0-9, '_', '.', '-', starting with a letter", field="key"
        )
    return key


def _checked(kind: SettingType, value: object) -> JsonValue:
    if kind is SettingType.BOOL:
        if not isinstance(value, bool):
            raise ValidationError("must be true or false", field="value")
        return value
    if kind is SettingType.INT:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be an integer", field="value")
        return value
    if kind is SettingType.DECIMAL:
        return parse_decimal(value, field="value")
    if kind is SettingType.CURRENCY:
        return parse_currency(value, field="value")
    if kind is SettingType.STRING:
        if not isinstance(value, str):
            raise ValidationError("must be a string", field="value")
        return value
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ValidationError("must be JSON-serialisable", field="value") from None
    return value  # type: ignore[return-value]


def encode_setting(key: str, kind: SettingType | str, value: object) -> tuple[SettingType, str]:
    """Check ``value`` against the key's type and give the text to store."""
    validate_key(key)
    try:
        kind = SettingType(kind)
    except ValueError:
        raise ValidationError(f"unknown type {kind!r}", field="type") from None
    known = KNOWN_SETTINGS.get(key)
    if known is not None and known.type is not kind:
        raise ValidationError(f"{key} is a {known.type.value} setting", field="type")
    checked = _checked(kind, value)
    text = canonical(checked) if isinstance(checked, Decimal) else json.dumps(checked, sort_keys=True)
    return kind, text


def decode_setting(key: str, kind: str, text: str) -> Setting:
    """The setting stored as ``text``."""
    setting_type = SettingType(kind)
    value: JsonValue = Decimal(text) if setting_type is SettingType.DECIMAL else json.loads(text)
    return Setting(key, setting_type, value)
