"""Exact money: ``Decimal`` arithmetic, ISO 4217 currencies, canonical text.

Prism never touches ``float`` for an amount. Arithmetic runs in :data:`CONTEXT`
(60 significant digits), wide enough that sums and products of real ledgers never
round; only divisions (a share of a lot's cost, an average) round, and they are
quantized to :data:`DIVISION_EXPONENT` so both databases store the same digits.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from prism.errors import ValidationError

__all__ = [
    "CONTEXT",
    "CURRENCIES",
    "DIVISION_EXPONENT",
    "MAX_EXPONENT",
    "ZERO",
    "canonical",
    "divide",
    "parse_currency",
    "parse_decimal",
]

CONTEXT = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_EVEN, Emax=999_999, Emin=-999_999)
DIVISION_EXPONENT = Decimal("1e-12")
#: No amount, quantity, price or rate is larger than 1e30 or finer than 1e-30.
MAX_EXPONENT = 30
ZERO = Decimal(0)
_ONE = Decimal(1)

# Active ISO 4217 codes plus the precious-metal and crypto-friendly codes brokers use.
CURRENCIES: frozenset[str] = frozenset(
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
    BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR
    IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL
    LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
    NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX
    USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG XAU XAG XPT XPD
    GBX ZAC ILA
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)


def parse_decimal(value: object, *, field: str, allow_negative: bool = True) -> Decimal:
    """Read an exact decimal from a ``Decimal``, ``int`` or decimal string.

    Floats are refused: they have already lost the digits a ledger needs.
    """
    if isinstance(value, (bool, float)):
        raise ValidationError("must be a decimal string or integer, not a float", field=field)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except decimal.InvalidOperation:
            raise ValidationError(f"{value!r} is not a decimal number", field=field) from None
    else:
        raise ValidationError("must be a decimal number", field=field)
    if not result.is_finite():
        raise ValidationError("must be a finite number", field=field)
    if result and not -MAX_EXPONENT <= result.adjusted() <= MAX_EXPONENT:
        raise ValidationError(f"must be between 1e-{MAX_EXPONENT} and 1e{MAX_EXPONENT} in size", field=field)
    if not allow_negative and result < 0:
        raise ValidationError("must not be negative", field=field)
    return canonical_value(result)


def canonical_value(value: Decimal) -> Decimal:
    """The same number with trailing zeros dropped and no exponent on integers."""
    if not value:  # zero of any sign or exponent
        return ZERO
    normal = value.normalize(CONTEXT)
    # A positive exponent is left only on a whole number of at least two digits (normalize
    # strips trailing zeros); ``adjusted`` and ``to_integral_value`` tell that without
    # ``as_tuple``, which builds a tuple of every digit and was most of a replay's time.
    if normal.adjusted() > 0 and normal == normal.to_integral_value():
        return normal.quantize(_ONE, context=CONTEXT)
    return normal


def canonical(value: Decimal) -> str:
    """The canonical text of a decimal: plain notation, no trailing zeros."""
    return format(canonical_value(value), "f")


def divide(numerator: Decimal, denominator: Decimal) -> Decimal:
    """``numerator / denominator`` rounded half-even to :data:`DIVISION_EXPONENT`."""
    quotient = CONTEXT.divide(numerator, denominator)
    return canonical_value(quotient.quantize(DIVISION_EXPONENT, context=CONTEXT))


def parse_currency(value: object, *, field: str = "currency") -> str:
    """An upper-case ISO 4217 code, or a :class:`ValidationError` naming ``field``."""
    if not isinstance(value, str):
        raise ValidationError("must be a three-letter ISO 4217 code", field=field)
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise ValidationError(f"unknown currency {value!r}", field=field)
    return code
