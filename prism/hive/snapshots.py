"""Snapshots and deltas: the whole hive, or what changed since a version, for offline lookups.

A snapshot is :class:`~prism.hive.wire.Snapshot` as msgpack, compressed with zstd.
``since=0`` gives every row; ``since=V`` gives the rows whose consensus changed after
version V (a fund always whole). Rows are never deleted from a hive, so a delta needs
no tombstones: applying it upserts. Nothing in a snapshot names a contributor.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import msgspec
import zstandard
from sqlalchemy import select
from sqlalchemy.engine import Connection

from prism.domain.money import canonical
from prism.errors import ValidationError
from prism.hive.checks import ASSET_FIELDS, composition_digest
from prism.hive.contributions import current_version, replace_holdings, upsert_rows
from prism.hive.wire import FORMAT, AliasRow, AssetRow, FundRow, ListingRow, MappingRow, Snapshot
from prism.storage.hive_tables import (
    hive_aliases,
    hive_assets,
    hive_etf_holdings,
    hive_funds,
    hive_listings,
    hive_provider_mappings,
)

__all__ = ["apply_snapshot", "build_snapshot", "decode_snapshot", "encode_snapshot"]

_LEVEL = 9
_MAX_DECOMPRESSED = 1 << 30


def build_snapshot(connection: Connection, since: int = 0) -> Snapshot:
    """Every consensus row changed after ``since`` (all of them for 0)."""
    version = current_version(connection)
    if since < 0 or since > version:
        raise ValidationError(f"must be between 0 and the hive's version {version}", field="since")
    assets = []
    for row in connection.execute(
        select(hive_assets).where(hive_assets.c.version > since).order_by(hive_assets.c.isin)
    ).mappings():
        consensus: dict[str, list[Any]] = row["consensus"] or {}
        fields = {
            name: (row[name], str(consensus.get(name, ["1", 1])[0]), int(consensus.get(name, ["1", 1])[1]))
            for name in ASSET_FIELDS
            if row[name] is not None
        }
        assets.append(AssetRow(row["isin"], row["enrichment_status"], row["contributors"], fields))
    listings = [
        ListingRow(r.ticker, r.exchange, r.isin, r.currency, _text(r.confidence), r.contributors)
        for r in connection.execute(
            select(hive_listings).where(hive_listings.c.version > since).order_by(hive_listings.c.ticker)
        )
    ]
    aliases = [
        AliasRow(r.alias, r.isin, r.alias_type, r.source, _text(r.confidence), r.contributor_count)
        for r in connection.execute(
            select(hive_aliases).where(hive_aliases.c.version > since).order_by(hive_aliases.c.alias)
        )
    ]
    mappings = [
        MappingRow(r.provider, r.provider_id, r.isin, _text(r.confidence), r.contributors)
        for r in connection.execute(
            select(hive_provider_mappings)
            .where(hive_provider_mappings.c.version > since)
            .order_by(hive_provider_mappings.c.provider, hive_provider_mappings.c.provider_id)
        )
    ]
    return Snapshot(
        format=FORMAT,
        version=version,
        since=since,
        assets=assets,
        listings=listings,
        aliases=aliases,
        provider_mappings=mappings,
        funds=_funds(connection, since),
    )


def _text(value: Decimal) -> str:
    return canonical(value)


def _funds(connection: Connection, since: int) -> list[FundRow]:
    funds = list(
        connection.execute(select(hive_funds).where(hive_funds.c.version > since).order_by(hive_funds.c.etf_isin))
    )
    if not funds:
        return []
    holdings: dict[str, list[Any]] = defaultdict(list)
    statement = select(hive_etf_holdings).order_by(hive_etf_holdings.c.etf_isin, hive_etf_holdings.c.holding_key)
    if since > 0:
        changed = select(hive_funds.c.etf_isin).where(hive_funds.c.version > since)
        statement = statement.where(hive_etf_holdings.c.etf_isin.in_(changed))
    for r in connection.execute(statement):
        holdings[r.etf_isin].append(
            (r.holding_isin, r.holding_name, _text(r.weight), r.country, r.sector, r.currency, r.asset_class)
        )
    return [FundRow(f.etf_isin, f.as_of, _text(f.confidence), f.contributors, holdings[f.etf_isin]) for f in funds]


def encode_snapshot(snapshot: Snapshot) -> bytes:
    """The snapshot as msgpack, zstd-compressed."""
    return zstandard.ZstdCompressor(level=_LEVEL).compress(msgspec.msgpack.encode(snapshot))


def decode_snapshot(body: bytes) -> Snapshot:
    """A snapshot read back; a :class:`ValidationError` when it is not one this code reads."""
    try:
        raw = zstandard.ZstdDecompressor().decompress(body, max_output_size=_MAX_DECOMPRESSED)
        snapshot = msgspec.msgpack.decode(raw, type=Snapshot)
    except (zstandard.ZstdError, msgspec.DecodeError) as error:
        raise ValidationError(f"not a hive snapshot: {error}", field="snapshot") from None
    if snapshot.format != FORMAT:
        raise ValidationError(f"format {snapshot.format!r} is not {FORMAT!r}", field="snapshot")
    return snapshot


def apply_snapshot(connection: Connection, snapshot: Snapshot, today: dt.date) -> None:
    """Upsert a snapshot's rows into this database's consensus tables (a device's mirror)."""
    version = snapshot.version
    asset_rows = []
    for asset in snapshot.assets:
        row: dict[str, Any] = dict.fromkeys(ASSET_FIELDS)
        consensus = {}
        for name, (value, confidence, contributors) in asset.fields.items():
            if name in ASSET_FIELDS:
                row[name] = value
                consensus[name] = [confidence, contributors]
        row.update(
            isin=asset.isin,
            enrichment_status=asset.status,
            contributors=asset.contributors,
            consensus=consensus,
            version=version,
            updated_on=today,
        )
        asset_rows.append(row)
    upsert_rows(connection, hive_assets, asset_rows, ["isin"])
    upsert_rows(
        connection,
        hive_listings,
        [
            {
                "ticker": r.ticker,
                "exchange": r.exchange,
                "isin": r.isin,
                "currency": r.currency,
                "confidence": Decimal(r.confidence),
                "contributors": r.contributors,
                "version": version,
            }
            for r in snapshot.listings
        ],
        ["ticker", "exchange"],
    )
    upsert_rows(
        connection,
        hive_aliases,
        [
            {
                "alias": r.alias,
                "isin": r.isin,
                "alias_type": r.alias_type,
                "source": r.source,
                "confidence": Decimal(r.confidence),
                "contributor_hash": None,
                "contributor_count": r.contributors,
                "version": version,
            }
            for r in snapshot.aliases
        ],
        ["alias", "isin"],
    )
    upsert_rows(
        connection,
        hive_provider_mappings,
        [
            {
                "provider": r.provider,
                "provider_id": r.provider_id,
                "isin": r.isin,
                "confidence": Decimal(r.confidence),
                "contributors": r.contributors,
                "version": version,
            }
            for r in snapshot.provider_mappings
        ],
        ["provider", "provider_id"],
    )
    for fund in snapshot.funds:
        fund_confidence = Decimal(fund.confidence)
        upsert_rows(
            connection,
            hive_funds,
            [
                {
                    "etf_isin": fund.etf_isin,
                    "as_of": fund.as_of,
                    "digest": composition_digest([list(h) for h in fund.holdings]),
                    "holdings_count": len(fund.holdings),
                    "confidence": fund_confidence,
                    "contributors": fund.contributors,
                    "version": version,
                }
            ],
            ["etf_isin"],
        )
        replace_holdings(connection, fund.etf_isin, [list(h) for h in fund.holdings], fund_confidence, fund.as_of)
