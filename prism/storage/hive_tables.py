"""The community hive's tables, declared on the one shared ``MetaData`` (docs/hive.md).

Three groups:

* **claims** (``hive_claims``, ``hive_composition_claims``): what each contributor
  said, keyed by the contributor's per-epoch pseudonym, so a repeat replaces the
  contributor's own claim and counts once;
* **consensus** (``hive_assets``, ``hive_listings``, ``hive_aliases``,
  ``hive_provider_mappings``, ``hive_funds``, ``hive_etf_holdings``): the old
  Supabase hive's tables and keys, recomputed from the claims; every row carries the
  hive ``version`` in which it last changed, which is what snapshots and deltas use;
* **upkeep** (``hive_epochs``, ``hive_versions``, ``hive_contributions``,
  ``hive_mirror``, ``hive_cache``): the rotating pseudonym secret, the version
  counter, the audit log, and a device's mirror state and online-lookup cache.

No table has a column for an account, device, token, e-mail or address.
"""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, Date, Index, Integer, LargeBinary, String, Table, Text

from prism.storage.tables import metadata
from prism.storage.types import ExactDecimal, Id, UTCDateTime

__all__ = [
    "HIVE_TABLES",
    "hive_aliases",
    "hive_assets",
    "hive_cache",
    "hive_claims",
    "hive_composition_claims",
    "hive_contributions",
    "hive_epochs",
    "hive_etf_holdings",
    "hive_funds",
    "hive_listings",
    "hive_mirror",
    "hive_provider_mappings",
    "hive_versions",
]

# --- claims: one row per (subject, field, pseudonym) ---------------------------------

hive_claims = Table(
    "hive_claims",
    metadata,
    Column("kind", String(16), primary_key=True),  # asset | listing | alias | provider
    Column("subject", String(160), primary_key=True),  # ISIN, TICKER|EXCHANGE, ALIAS|ISIN, PROVIDER|ID
    Column("field", String(32), primary_key=True),
    Column("pseudonym", String(32), primary_key=True),
    Column("value", Text, nullable=True),
    Column("status", String(8), nullable=False),  # active | stub
    Column("confidence", ExactDecimal, nullable=True),  # what the contributor claimed, 0..1
    Column("submitted_on", Date, nullable=False),  # a day, not a time: nothing to line up with
)

hive_composition_claims = Table(
    "hive_composition_claims",
    metadata,
    Column("etf_isin", String(12), primary_key=True),
    Column("pseudonym", String(32), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("holdings", JSON, nullable=False),  # [[isin, name, weight, country, sector, currency, class]]
    Column("submitted_on", Date, nullable=False),
)

# --- consensus: the old hive's tables, with the version of their last change -----------

hive_assets = Table(
    "hive_assets",
    metadata,
    Column("isin", String(12), primary_key=True),
    Column("name", Text, nullable=True),
    Column("wkn", String(12), nullable=True),
    Column("asset_class", String(8), nullable=True),  # Equity ETF Cash Crypto Bond Fund
    Column("base_currency", String(3), nullable=True),
    Column("sector", String(50), nullable=True),
    Column("geography", String(50), nullable=True),
    Column("enrichment_status", String(8), nullable=False),  # active | stub
    Column("contributors", Integer, nullable=False),
    Column("consensus", JSON, nullable=False),  # {field: [confidence text, contributors]}
    Column("version", BigInteger, nullable=False),
    Column("updated_on", Date, nullable=False),
    Index(None, "version"),
    Index(None, "wkn"),
)

hive_listings = Table(
    "hive_listings",
    metadata,
    Column("ticker", String(30), primary_key=True),
    Column("exchange", String(10), primary_key=True),
    Column("isin", String(12), nullable=False),
    Column("currency", String(3), nullable=True),
    Column("confidence", ExactDecimal, nullable=False),
    Column("contributors", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Index(None, "isin"),
    Index(None, "version"),
)

hive_aliases = Table(
    "hive_aliases",
    metadata,
    Column("alias", String(100), primary_key=True),
    Column("isin", String(12), primary_key=True),
    Column("alias_type", String(20), nullable=False),
    Column("source", String(30), nullable=False),
    Column("confidence", ExactDecimal, nullable=False),
    Column("contributor_hash", String(64), nullable=True),  # a pseudonym of its epoch, never an identity
    Column("contributor_count", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Index(None, "isin"),
    Index(None, "version"),
)

hive_provider_mappings = Table(
    "hive_provider_mappings",
    metadata,
    Column("provider", String(30), primary_key=True),
    Column("provider_id", String(50), primary_key=True),
    Column("isin", String(12), nullable=False),
    Column("confidence", ExactDecimal, nullable=False),
    Column("contributors", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Index(None, "isin"),
    Index(None, "version"),
)

hive_funds = Table(
    "hive_funds",
    metadata,
    Column("etf_isin", String(12), primary_key=True),
    Column("as_of", Date, nullable=False),
    Column("digest", String(64), nullable=False),  # of the chosen composition's rows
    Column("holdings_count", Integer, nullable=False),
    Column("confidence", ExactDecimal, nullable=False),
    Column("contributors", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Index(None, "version"),
)

hive_etf_holdings = Table(
    "hive_etf_holdings",
    metadata,
    Column("etf_isin", String(12), primary_key=True),
    Column("holding_key", String(200), primary_key=True),  # the holding's ISIN, or "name:" + its name
    Column("holding_isin", String(12), nullable=True),
    Column("holding_name", String(200), nullable=True),
    Column("weight", ExactDecimal, nullable=False),  # a fraction 0..1
    Column("confidence_score", ExactDecimal, nullable=False),
    Column("last_updated", Date, nullable=False),
    Column("country", String(2), nullable=True),
    Column("sector", String(50), nullable=True),
    Column("currency", String(3), nullable=True),
    Column("asset_class", String(8), nullable=True),
    Index(None, "holding_isin"),
)

# --- upkeep ----------------------------------------------------------------------------

hive_epochs = Table(
    "hive_epochs",
    metadata,
    Column("epoch", BigInteger, primary_key=True),
    Column("secret", LargeBinary, nullable=False),  # deleted when the epoch is over
)

hive_versions = Table(
    "hive_versions",
    metadata,
    Column("version", BigInteger, primary_key=True),
    Column("changed", Integer, nullable=False),
    Column("created_on", Date, nullable=False),
)

hive_contributions = Table(
    "hive_contributions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("pseudonym", String(32), nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("target_table", String(30), nullable=False),
    Column("items", Integer, nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("created_on", Date, nullable=False),
)

hive_mirror = Table(
    "hive_mirror",
    metadata,
    Column("hive", String(64), primary_key=True),  # a hash of the hive's URL
    Column("version", BigInteger, nullable=False),
    Column("synced_at", UTCDateTime, nullable=False),
)

hive_cache = Table(
    "hive_cache",
    metadata,
    Column("isin", String(12), primary_key=True),
    Column("body", LargeBinary, nullable=True),  # the resolution as JSON; None: the hive did not know it
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

#: Every hive table, in creation order.
HIVE_TABLES = (
    hive_claims,
    hive_composition_claims,
    hive_assets,
    hive_listings,
    hive_aliases,
    hive_provider_mappings,
    hive_funds,
    hive_etf_holdings,
    hive_epochs,
    hive_versions,
    hive_contributions,
    hive_mirror,
    hive_cache,
)
