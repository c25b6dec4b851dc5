"""ISIN validation."""

import pytest

from prism.domain.isin import is_valid_isin, parse_isin
from prism.errors import ValidationError


@pytest.mark.parametrize("isin", ["US0378331005", "IE00B4L5Y983", "DE0007164600", "GB0002634946", "AU0000XVGZA3"])
def test_real_isins_are_valid(isin: str) -> None:
    assert is_valid_isin(isin)
    assert parse_isin(isin.lower()) == isin


@pytest.mark.parametrize(
    ("isin", "reason"),
    [("US0378331006", "check digit"), ("US037833100", "shaped"), ("1S0378331005", "shaped"), ("", "shaped")],
)
def test_malformed_isins_say_what_is_wrong(isin: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as raised:
        parse_isin(isin)
    assert raised.value.field == "isin"
