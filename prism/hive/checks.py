"""A contribution, checked whole and turned into claims (nothing is written on a refusal).

Each problem is a :class:`~prism.errors.ValidationError` naming the offending field as
a path into the batch (``assets[3].isin``), which the API reports as problem details.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

import msgspec

from prism.domain.hive_consensus import weights_as_fractions
from prism.domain.isin import parse_isin
from prism.domain.money import canonical, parse_currency, parse_decimal
from prism.errors import ValidationError
from prism.hive.wire import ContributionIn, HoldingIn

__all__ = [
    "ASSET_FIELDS",
    "COUNTRIES",
    "SEP",
    "CheckedBatch",
    "ClaimIn",
    "FundIn",
    "check_contribution",
    "composition_digest",
]

#: ISO 3166-1 alpha-2 codes.
COUNTRIES = frozenset(
    """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
    GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
    KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
    MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
    PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
    SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
    VN VU WF WS YE YT ZA ZM ZW
    """.split()  # noqa: SIM905 - a table of codes reads better as text
)

#: Joins the parts of a claim's subject; control characters never occur in checked text.
SEP = "\x1f"

#: Asset fields as the old hive names them (``country`` arrives, ``geography`` is stored).
ASSET_FIELDS = ("name", "wkn", "asset_class", "base_currency", "sector", "geography")


@dataclass(frozen=True, slots=True)
class ClaimIn:
    """One claim to store: (kind, subject, field) said ``value``."""

    kind: str
    subject: str
    field: str
    value: str | None
    status: str = "active"
    confidence: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FundIn:
    """One fund's composition, in the stored row shape."""

    etf_isin: str
    as_of: dt.date
    digest: str
    holdings: list[list[str | None]]


@dataclass(slots=True)
class CheckedBatch:
    """A checked contribution: its claims, compositions and item counts."""

    claims: list[ClaimIn] = field(default_factory=list)
    funds: list[FundIn] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def _text(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if any(ord(char) < 32 or ord(char) == 127 for char in cleaned):
        raise ValidationError("must not contain control characters", field=where)
    if not cleaned:
        raise ValidationError("must not be blank", field=where)
    return cleaned


def _country(value: str | None, where: str) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in COUNTRIES:
        raise ValidationError(f"{value!r} is not an ISO 3166 country code", field=where)
    return code


def _currency(value: str | None, where: str) -> str | None:
    return None if value is None else parse_currency(value, field=where)


def _unique(key: object, seen: set[object], where: str) -> None:
    if key in seen:
        raise ValidationError("appears twice in this batch", field=where)
    seen.add(key)


def composition_digest(holdings: list[list[str | None]]) -> str:
    """A digest of a composition's rows: identical rows from two contributors agree."""
    return hashlib.sha256(msgspec.json.encode(sorted(holdings, key=lambda row: [v or "" for v in row]))).hexdigest()


def _holdings(rows: list[HoldingIn], where: str) -> list[list[str | None]]:
    weights = [parse_decimal(row.weight, field=f"{where}[{i}].weight") for i, row in enumerate(rows)]
    fractions = weights_as_fractions(weights, field=where)
    seen: set[object] = set()
    out: list[list[str | None]] = []
    for index, (row, weight) in enumerate(zip(rows, fractions, strict=True)):
        at = f"{where}[{index}]"
        isin = parse_isin(row.isin, field=f"{at}.isin") if row.isin is not None else None
        name = _text(row.name, f"{at}.name")
        if isin is None and name is None:
            raise ValidationError("a constituent needs an ISIN or a name", field=f"{at}.isin")
        _unique(isin or ("name", (name or "").casefold()), seen, f"{at}.isin" if isin else f"{at}.name")
        out.append(
            [
                isin,
                name,
                canonical(weight.quantize(Decimal("1e-12"))),
                _country(row.country, f"{at}.country"),
                _text(row.sector, f"{at}.sector"),
                _currency(row.currency, f"{at}.currency"),
                row.asset_class,
            ]
        )
    return out


def check_contribution(batch: ContributionIn, *, today: dt.date) -> CheckedBatch:
    """Every item of ``batch`` checked; its claims. Raises on the first problem."""
    checked = CheckedBatch()
    seen: set[object] = set()
    for index, asset in enumerate(batch.assets):
        at = f"assets[{index}]"
        isin = parse_isin(asset.isin, field=f"{at}.isin")
        _unique(("asset", isin), seen, f"{at}.isin")
        values = {
            "name": _text(asset.name, f"{at}.name"),
            "wkn": _text(asset.wkn.upper() if asset.wkn else None, f"{at}.wkn"),
            "asset_class": asset.asset_class,
            "base_currency": _currency(asset.base_currency, f"{at}.base_currency"),
            "sector": _text(asset.sector, f"{at}.sector"),
            "geography": _country(asset.country, f"{at}.country"),
        }
        status = asset.enrichment_status
        if values["name"] == "Not Found":
            values["name"], status = None, "stub"  # the old app's placeholder: no name, a stub
        for name, value in values.items():
            if value is not None:
                checked.claims.append(ClaimIn("asset", isin, name, value, status))
        # A bare stub still says "this ISIN exists"; it never outvotes an active claim.
        checked.claims.append(ClaimIn("asset", isin, "exists", "1", status))
    for index, listing in enumerate(batch.listings):
        at = f"listings[{index}]"
        # Upper-casing can lengthen text ("ß" is "SS"): cut back to the stored widths.
        ticker = (_text(listing.ticker.upper(), f"{at}.ticker") or "")[:30]
        exchange = (_text(listing.exchange.upper(), f"{at}.exchange") or "")[:10]
        subject = f"{ticker}{SEP}{exchange}"
        _unique(("listing", subject), seen, f"{at}.ticker")
        checked.claims.append(ClaimIn("listing", subject, "isin", parse_isin(listing.isin, field=f"{at}.isin")))
        currency = _currency(listing.currency, f"{at}.currency")
        if currency is not None:
            checked.claims.append(ClaimIn("listing", subject, "currency", currency))
    for index, alias in enumerate(batch.aliases):
        at = f"aliases[{index}]"
        text = _text(alias.alias, f"{at}.alias") or ""
        isin = parse_isin(alias.isin, field=f"{at}.isin")
        confidence = None
        if alias.confidence is not None:
            confidence = parse_decimal(alias.confidence, field=f"{at}.confidence", allow_negative=False)
            if confidence > 1:
                raise ValidationError("must be between 0 and 1", field=f"{at}.confidence")
        # Aliases are matched without regard to case, as the old hive's UPPER(alias) index did.
        subject = f"{text.upper()[:100]}{SEP}{isin}"
        _unique(("alias", subject), seen, f"{at}.alias")
        checked.claims.append(ClaimIn("alias", subject, "alias_type", alias.alias_type, confidence=confidence))
        checked.claims.append(ClaimIn("alias", subject, "source", alias.source))
    for index, mapping in enumerate(batch.provider_mappings):
        at = f"provider_mappings[{index}]"
        subject = f"{_text(mapping.provider, f'{at}.provider')}{SEP}{_text(mapping.provider_id, f'{at}.provider_id')}"
        _unique(("provider", subject), seen, f"{at}.provider_id")
        checked.claims.append(ClaimIn("provider", subject, "isin", parse_isin(mapping.isin, field=f"{at}.isin")))
    for index, composition in enumerate(batch.compositions):
        at = f"compositions[{index}]"
        fund = parse_isin(composition.etf_isin, field=f"{at}.etf_isin")
        _unique(("fund", fund), seen, f"{at}.etf_isin")
        if composition.as_of > today + dt.timedelta(days=1):
            raise ValidationError("is in the future", field=f"{at}.as_of")
        rows = _holdings(composition.holdings, f"{at}.holdings")
        checked.funds.append(FundIn(fund, composition.as_of, composition_digest(rows), rows))
    checked.counts = {
        "assets": len(batch.assets),
        "listings": len(batch.listings),
        "aliases": len(batch.aliases),
        "provider_mappings": len(batch.provider_mappings),
        "compositions": len(batch.compositions),
    }
    return checked
