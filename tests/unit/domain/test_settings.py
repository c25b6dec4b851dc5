"""Typed settings: values are checked against their type and stored exactly."""

from decimal import Decimal

import pytest

from prism.domain.settings import SettingType, decode_setting, encode_setting
from prism.errors import ValidationError


@pytest.mark.parametrize(
    ("kind", "value"),
    [("bool", True), ("int", 42), ("decimal", "0.1"), ("string", "dark"), ("currency", "chf"), ("json", {"a": [1]})],
)
def test_values_round_trip_through_their_text(kind: str, value: object) -> None:
    setting_type, text = encode_setting("ui.thing", kind, value)
    decoded = decode_setting("ui.thing", setting_type, text)
    expected = {"decimal": Decimal("0.1"), "currency": "CHF"}.get(kind, value)
    assert decoded.value == expected
    assert decoded.type is SettingType(kind)


@pytest.mark.parametrize(
    ("key", "kind", "value", "field"),
    [
        ("hive_contribution_enabled", "string", "yes", "type"),
        ("hive_contribution_enabled", "bool", "yes", "value"),
        ("x", "int", True, "value"),
        ("x", "decimal", 0.1, "value"),
        ("x", "currency", "EURO", "value"),
        ("x", "colour", 1, "type"),
        ("Bad Key", "int", 1, "key"),
    ],
)
def test_wrong_values_name_the_field(key: str, kind: str, value: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        encode_setting(key, kind, value)
    assert raised.value.field == field
