"""The hive's wire format: contributions in, resolutions and snapshots out (docs/hive.md).

Decimals travel as strings. Limits (list lengths, string lengths) are part of the
types, so an oversized batch is refused before anything is read from it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

__all__ = [
    "FORMAT",
    "MAX_ALIASES",
    "MAX_ASSETS",
    "MAX_COMPOSITIONS",
    "MAX_HOLDINGS",
    "MAX_LISTINGS",
    "MAX_RESOLVE",
    "AliasIn",
    "AssetIn",
    "AssetRow",
    "CompositionIn",
    "CompositionOut",
    "ContributionIn",
    "ContributionOut",
    "FieldValue",
    "FundRow",
    "HoldingIn",
    "HoldingOut",
    "ListingIn",
    "ListingOut",
    "ListingRow",
    "ProviderMappingIn",
    "ResolveIn",
    "ResolveOut",
    "Resolution",
    "Snapshot",
    "AliasRow",
    "MappingRow",
]

MAX_ASSETS = 1000
MAX_LISTINGS = 1000
MAX_ALIASES = 1000
MAX_COMPOSITIONS = 20
MAX_HOLDINGS = 5000
MAX_RESOLVE = 1000
#: The snapshot format's name and version; a reader refuses any other.
FORMAT = "prism-hive/1"

Decimal_ = Annotated[str, msgspec.Meta(pattern=r"^[+-]?(\d+(\.\d*)?|\.\d+)$", max_length=40)]
Isin = Annotated[str, msgspec.Meta(min_length=12, max_length=12, description="an ISIN (ISO 6166)")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Code2 = Annotated[str, msgspec.Meta(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")]
Code3 = Annotated[str, msgspec.Meta(min_length=3, max_length=3, description="ISO 4217")]
AssetClass = Literal["Equity", "ETF", "Cash", "Crypto", "Bond", "Fund"]
Status = Literal["active", "stub"]


class _In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class AssetIn(_In):
    """What a contributor knows of an asset; omitted fields say nothing."""

    isin: Isin
    name: Text | None = None
    wkn: Annotated[str, msgspec.Meta(min_length=6, max_length=6)] | None = None
    asset_class: AssetClass | None = None
    base_currency: Code3 | None = None
    sector: Short | None = None
    country: Code2 | None = None  # stored as the old hive's ``geography``
    enrichment_status: Status = "active"


class ListingIn(_In):
    """A ticker on an exchange, and the ISIN it trades."""

    ticker: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    exchange: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
    isin: Isin
    currency: Code3 | None = None


class AliasIn(_In):
    """Another name of an asset."""

    alias: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    isin: Isin
    alias_type: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,20}$")] = "name"
    source: Annotated[str, msgspec.Meta(pattern=r"^[a-z_]{1,30}$")] = "user"
    confidence: Decimal_ | None = None


class ProviderMappingIn(_In):
    """A data provider's id of an asset (a Yahoo ticker, say)."""

    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    provider_id: Short
    isin: Isin


class HoldingIn(_In):
    """One constituent of a fund: a fraction (or, from old clients, a percentage)."""

    weight: Decimal_
    isin: Isin | None = None
    name: Text | None = None
    country: Code2 | None = None
    sector: Short | None = None
    currency: Code3 | None = None
    asset_class: AssetClass | None = None


class CompositionIn(_In):
    """A fund's whole composition on a day."""

    etf_isin: Isin
    as_of: dt.date
    holdings: Annotated[list[HoldingIn], msgspec.Meta(min_length=1, max_length=MAX_HOLDINGS)]


class ContributionIn(_In):
    """One batch: anything a device learned, each list optional."""

    assets: Annotated[list[AssetIn], msgspec.Meta(max_length=MAX_ASSETS)] = []
    listings: Annotated[list[ListingIn], msgspec.Meta(max_length=MAX_LISTINGS)] = []
    aliases: Annotated[list[AliasIn], msgspec.Meta(max_length=MAX_ALIASES)] = []
    provider_mappings: Annotated[list[ProviderMappingIn], msgspec.Meta(max_length=MAX_LISTINGS)] = []
    compositions: Annotated[list[CompositionIn], msgspec.Meta(max_length=MAX_COMPOSITIONS)] = []


class ContributionOut(msgspec.Struct, kw_only=True):
    """What the hive took: items per kind, and the hive version that holds them."""

    version: int
    epoch: int
    accepted: dict[str, int]


class ResolveIn(_In):
    """ISINs to resolve at once."""

    isins: Annotated[list[str], msgspec.Meta(min_length=1, max_length=MAX_RESOLVE)]


class FieldValue(msgspec.Struct, kw_only=True):
    """The consensus of one field."""

    value: str
    confidence: str
    contributors: int


class ListingOut(msgspec.Struct, kw_only=True):
    """A listing of the asset."""

    ticker: str
    exchange: str
    currency: str | None
    confidence: str
    contributors: int


class HoldingOut(msgspec.Struct, kw_only=True):
    """A constituent of the fund (weight a fraction 0..1)."""

    isin: str | None
    name: str | None
    weight: str
    country: str | None = None
    sector: str | None = None
    currency: str | None = None
    asset_class: str | None = None


class CompositionOut(msgspec.Struct, kw_only=True):
    """The fund's composition: its day, whether it is stale, and (single lookups) its rows."""

    as_of: dt.date
    stale: bool
    holdings_count: int
    contributors: int
    confidence: str
    holdings: list[HoldingOut] | None = None


class Resolution(msgspec.Struct, kw_only=True):
    """What the hive knows of one ISIN, field by field."""

    isin: str
    status: str
    contributors: int
    fields: dict[str, FieldValue]
    listings: list[ListingOut] = []
    composition: CompositionOut | None = None
    origin: str = "hive"  # hive | snapshot | cache (where a device found it)
    stale: bool = False  # a device's cached answer past its time to live


class ResolveOut(msgspec.Struct, kw_only=True):
    """Resolutions in request order; ISINs the hive does not know under ``unknown``."""

    version: int
    items: list[Resolution]
    unknown: list[str]


# --- the snapshot: compact rows (arrays, not objects), msgpack, zstd ------------------


class AssetRow(msgspec.Struct, array_like=True):
    """isin, status, contributors, then per field (value, confidence, contributors)."""

    isin: str
    status: str
    contributors: int
    fields: dict[str, tuple[str, str, int]]


class ListingRow(msgspec.Struct, array_like=True):
    """A listing: key, ISIN, currency, confidence, contributors."""

    ticker: str
    exchange: str
    isin: str
    currency: str | None
    confidence: str
    contributors: int


class AliasRow(msgspec.Struct, array_like=True):
    """An alias: key, type, source, confidence, contributors."""

    alias: str
    isin: str
    alias_type: str
    source: str
    confidence: str
    contributors: int


class MappingRow(msgspec.Struct, array_like=True):
    """A provider mapping: key, ISIN, confidence, contributors."""

    provider: str
    provider_id: str
    isin: str
    confidence: str
    contributors: int


class FundRow(msgspec.Struct, array_like=True):
    """A fund's whole composition; each holding is [isin, name, weight, country, sector, currency, class]."""

    etf_isin: str
    as_of: dt.date
    confidence: str
    contributors: int
    holdings: list[tuple[str | None, str | None, str, str | None, str | None, str | None, str | None]]


class Snapshot(msgspec.Struct, kw_only=True):
    """The hive at ``version``; with ``since``, only rows changed after that version."""

    format: str
    version: int
    since: int
    assets: list[AssetRow]
    listings: list[ListingRow]
    aliases: list[AliasRow]
    provider_mappings: list[MappingRow]
    funds: list[FundRow]
