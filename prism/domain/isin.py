"""ISINs (ISO 6166): shape and Luhn check digit."""

from __future__ import annotations

import re
from functools import lru_cache

from prism.errors import ValidationError

__all__ = ["is_valid_isin", "parse_isin"]

_SHAPE = re.compile(r"^[A-Z]{2}[A-Z0-9]{9}[0-9]$")


@lru_cache(maxsize=1 << 14)  # an import checks the same few hundred ISINs again and again
def _check_digit_ok(isin: str) -> bool:
    # Letters become two digits (A=10 … Z=35); then Luhn over the digit string.
    digits = "".join(str(int(ch, 36)) for ch in isin)
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def is_valid_isin(value: str) -> bool:
    """True when ``value`` is a well-formed ISIN with a correct check digit."""
    return bool(_SHAPE.match(value)) and _check_digit_ok(value)


def parse_isin(value: object, *, field: str = "isin") -> str:
    """The ISIN in upper case, or a :class:`ValidationError` saying what is wrong."""
    if not isinstance(value, str):
        raise ValidationError("must be a 12-character ISIN", field=field)
    isin = value.strip().upper()
    if not _SHAPE.match(isin):
        raise ValidationError(f"{value!r} is not shaped like an ISIN", field=field)
    if not _check_digit_ok(isin):
        raise ValidationError(f"{value!r} has a wrong check digit", field=field)
    return isin
