"""Exact decimals and currencies."""

from decimal import Decimal

import pytest

from prism.domain.money import canonical, divide, parse_currency, parse_decimal
from prism.errors import ValidationError


@pytest.mark.parametrize(
    ("given", "expected"),
    [("10.500", "10.5"), ("1E+3", "1000"), ("-0.000", "0"), ("0.1", "0.1"), (7, "7"), (Decimal("2.50"), "2.5")],
)
def test_decimals_are_read_exactly_and_canonically(given: object, expected: str) -> None:
    assert canonical(parse_decimal(given, field="amount")) == expected


@pytest.mark.parametrize("bad", [0.1, "abc", "NaN", "Infinity", None, True])
def test_floats_and_non_numbers_are_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_decimal(bad, field="price")
    assert raised.value.field == "price"


@pytest.mark.parametrize("huge", ["4.2E122", "1e-31", "-" + "9" * 40])
def test_absurd_magnitudes_are_refused(huge: str) -> None:
    with pytest.raises(ValidationError, match="between"):
        parse_decimal(huge, field="amount")


def test_negative_values_can_be_refused() -> None:
    with pytest.raises(ValidationError, match="negative"):
        parse_decimal("-1", field="fee", allow_negative=False)


def test_division_rounds_half_even_to_twelve_places() -> None:
    assert divide(Decimal(1), Decimal(3)) == Decimal("0.333333333333")
    assert divide(Decimal(2), Decimal(3)) == Decimal("0.666666666667")
    assert divide(Decimal(10), Decimal(4)) == Decimal("2.5")


def test_currencies_are_iso_4217_codes() -> None:
    assert parse_currency(" eur ") == "EUR"
    with pytest.raises(ValidationError) as raised:
        parse_currency("EURO", field="base_currency")
    assert raised.value.field == "base_currency"
