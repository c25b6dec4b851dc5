"""Valid ISINs made up for tests: a country prefix, nine digits, and the right check digit."""

from __future__ import annotations

from prism.domain.isin import is_valid_isin

__all__ = ["make_isins"]


def make_isins(count: int, prefix: str = "XS") -> list[str]:
    """``count`` distinct, well-formed ISINs (check digit included)."""
    found = []
    for number in range(count):
        body = f"{prefix}{number:09d}"
        found.append(next(body + str(digit) for digit in range(10) if is_valid_isin(body + str(digit))))
    return found
