"""Contributions into the hive: claims stored by pseudonym, consensus recomputed.

One write transaction takes a checked batch: it upserts the claims (a contributor's
repeat replaces its own claim), recomputes the consensus rows of every touched
subject, and stamps those that changed with a new hive version. PostgreSQL replicas
serialise this with a transaction-scoped advisory lock; SQLite's single writer does.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, delete, func, select, text, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from prism.domain.hive_consensus import Claim, CompositionClaim, choose_composition, decide
from prism.domain.money import canonical
from prism.hive.checks import ASSET_FIELDS, SEP, CheckedBatch
from prism.storage.hive_tables import (
    hive_aliases,
    hive_assets,
    hive_claims,
    hive_composition_claims,
    hive_contributions,
    hive_etf_holdings,
    hive_funds,
    hive_listings,
    hive_provider_mappings,
    hive_versions,
)

__all__ = ["HIVE_LOCK_KEY", "current_version", "replace_holdings", "store_batch", "upsert_rows"]

#: The advisory lock that serialises hive writes across PostgreSQL replicas.
HIVE_LOCK_KEY = 0x4849_5645  # "HIVE"
_ALIAS_CONFIDENCE = Decimal("0.8")  # the old hive's default for an alias nobody rated
_CHUNK = 500


def current_version(connection: Connection) -> int:
    """The hive's latest version (0 for an empty hive)."""
    found: int | None = connection.execute(select(func.max(hive_versions.c.version))).scalar()
    return found or 0


def upsert_rows(connection: Connection, table: Table, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows`` into ``table``, replacing rows with the same ``keys``."""
    if not rows:
        return
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    others = [c.name for c in table.columns if c.name not in keys]
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in others}
    )
    connection.execute(statement, rows)


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _claims_of(connection: Connection, kind: str, subjects: Sequence[str]) -> dict[str, dict[str, list[Claim]]]:
    found: dict[str, dict[str, list[Claim]]] = defaultdict(lambda: defaultdict(list))
    c = hive_claims.c
    for part in _chunks(subjects):
        rows = connection.execute(
            select(c.subject, c.field, c.value, c.pseudonym, c.status, c.submitted_on, c.confidence).where(
                c.kind == kind, c.subject.in_(part)
            )
        )
        for subject, field, value, who, status, day, confidence in rows:
            found[subject][field].append(Claim(value, who, status, day, confidence))
    return found


def _existing(
    connection: Connection, table: Table, keys: Sequence[str], wanted: Sequence[tuple[str, ...]]
) -> dict[tuple[str, ...], dict[str, Any]]:
    found: dict[tuple[str, ...], dict[str, Any]] = {}
    columns = [table.c[k] for k in keys]
    for part in _chunks(wanted):
        where = columns[0].in_([w[0] for w in part]) if len(keys) == 1 else tuple_(*columns).in_(part)
        for row in connection.execute(select(table).where(where)).mappings():
            found[tuple(row[k] for k in keys)] = dict(row)
    return found


def _changed(
    rows: list[dict[str, Any]], existing: dict[tuple[str, ...], dict[str, Any]], keys: Sequence[str]
) -> list[dict[str, Any]]:
    """Rows that differ from what is stored, the version aside."""
    out = []
    for row in rows:
        before = existing.get(tuple(row[k] for k in keys))
        if before is None or any(before.get(k) != v for k, v in row.items() if k not in {"version", "updated_on"}):
            out.append(row)
    return out


def _asset_rows(claims: dict[str, dict[str, list[Claim]]], version: int, today: dt.date) -> list[dict[str, Any]]:
    rows = []
    for isin, fields in claims.items():
        everyone = {claim.pseudonym for field_claims in fields.values() for claim in field_claims}
        active = any(claim.status == "active" for field_claims in fields.values() for claim in field_claims)
        row: dict[str, Any] = {"isin": isin, "enrichment_status": "active" if active else "stub"}
        consensus: dict[str, list[Any]] = {}
        for name in ASSET_FIELDS:
            decision = decide(fields.get(name, []))
            row[name] = decision.value if decision else None
            if decision:
                consensus[name] = [canonical(decision.confidence), decision.contributors]
        row.update(contributors=len(everyone), consensus=consensus, version=version, updated_on=today)
        rows.append(row)
    return rows


def _mapping_rows(claims: dict[str, dict[str, list[Claim]]], version: int, *, listing: bool) -> list[dict[str, Any]]:
    rows = []
    for subject, fields in claims.items():
        first, second = subject.split(SEP, 1)
        decision = decide(fields.get("isin", []))
        if decision is None:
            continue
        row: dict[str, Any] = {
            "isin": decision.value,
            "confidence": decision.confidence,
            "contributors": decision.contributors,
            "version": version,
        }
        if listing:
            currency = decide(fields.get("currency", []))
            row.update(ticker=first, exchange=second, currency=currency.value if currency else None)
        else:
            row.update(provider=first, provider_id=second)
        rows.append(row)
    return rows


def _alias_rows(claims: dict[str, dict[str, list[Claim]]], version: int) -> list[dict[str, Any]]:
    rows = []
    for subject, fields in claims.items():
        alias, isin = subject.rsplit(SEP, 1)
        kinds = fields.get("alias_type", [])
        kind, source = decide(kinds), decide(fields.get("source", []))
        rated = [claim.confidence for claim in kinds if claim.confidence is not None]
        rows.append(
            {
                "alias": alias,
                "isin": isin,
                "alias_type": kind.value if kind else "name",
                "source": source.value if source else "user",
                "confidence": max(rated) if rated else _ALIAS_CONFIDENCE,  # the old rule: the maximum
                "contributor_hash": None,  # pseudonyms stay in the claims, never in served rows
                "contributor_count": len({claim.pseudonym for claim in kinds}),
                "version": version,
            }
        )
    return rows


def _store_funds(connection: Connection, funds: Sequence[str], version: int, today: dt.date) -> int:
    c = hive_composition_claims.c
    claims: dict[str, list[CompositionClaim]] = defaultdict(list)
    bodies: dict[tuple[str, str], list[list[str | None]]] = {}
    for part in _chunks(funds):
        rows = connection.execute(
            select(c.etf_isin, c.pseudonym, c.as_of, c.digest, c.submitted_on, c.holdings).where(c.etf_isin.in_(part))
        )
        for fund, who, as_of, digest, day, holdings in rows:
            claims[fund].append(CompositionClaim(who, as_of, digest, day))
            bodies[fund, digest] = holdings
    changed = 0
    for fund, fund_claims in claims.items():
        choice = choose_composition(fund_claims)
        if choice is None:
            continue
        holdings = bodies[fund, choice.digest]
        row = {
            "etf_isin": fund,
            "as_of": choice.as_of,
            "digest": choice.digest,
            "holdings_count": len(holdings),
            "confidence": choice.confidence,
            "contributors": choice.contributors,
        }
        before = connection.execute(select(hive_funds).where(hive_funds.c.etf_isin == fund)).mappings().first()
        if before is not None and all(before[k] == v for k, v in row.items()):
            continue
        upsert_rows(connection, hive_funds, [{**row, "version": version}], ["etf_isin"])
        replace_holdings(connection, fund, holdings, choice.confidence, choice.as_of)
        changed += 1
    return changed


def replace_holdings(
    connection: Connection, fund: str, holdings: list[list[str | None]], confidence: Decimal, as_of: dt.date
) -> None:
    """Replace a fund's stored constituents with ``holdings`` (rows in the claim shape)."""
    connection.execute(delete(hive_etf_holdings).where(hive_etf_holdings.c.etf_isin == fund))
    rows = [
        {
            "etf_isin": fund,
            "holding_key": isin or f"name:{(name or '').upper()}"[:200],
            "holding_isin": isin,
            "holding_name": name,
            "weight": Decimal(weight or "0"),
            "confidence_score": confidence,
            "last_updated": as_of,
            "country": country,
            "sector": sector,
            "currency": currency,
            "asset_class": asset_class,
        }
        for isin, name, weight, country, sector, currency, asset_class in holdings
    ]
    if rows:
        connection.execute(hive_etf_holdings.insert(), rows)


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": HIVE_LOCK_KEY})


def store_batch(connection: Connection, batch: CheckedBatch, who: str, epoch: int, today: dt.date) -> int:
    """Store ``batch`` as ``who``'s claims (a pseudonym) and update the consensus; the hive version."""
    _lock(connection)
    version = current_version(connection) + 1
    claim_rows = {
        (claim.kind, claim.subject, claim.field): {
            "kind": claim.kind,
            "subject": claim.subject,
            "field": claim.field,
            "pseudonym": who,
            "value": claim.value,
            "status": claim.status,
            "confidence": claim.confidence,
            "submitted_on": today,
        }
        for claim in batch.claims
    }
    rows = list(claim_rows.values())
    for part in _chunks(rows):
        upsert_rows(connection, hive_claims, list(part), ["kind", "subject", "field", "pseudonym"])
    fund_rows = [
        {
            "etf_isin": fund.etf_isin,
            "pseudonym": who,
            "as_of": fund.as_of,
            "digest": fund.digest,
            "holdings": fund.holdings,
            "submitted_on": today,
        }
        for fund in batch.funds
    ]
    upsert_rows(connection, hive_composition_claims, fund_rows, ["etf_isin", "pseudonym"])
    subjects: dict[str, list[str]] = defaultdict(list)
    for kind, subject, _field in claim_rows:
        if subject not in subjects[kind]:
            subjects[kind].append(subject)
    changed = 0
    targets: list[tuple[Table, Sequence[str], list[dict[str, Any]]]] = [
        (hive_assets, ["isin"], _asset_rows(_claims_of(connection, "asset", subjects["asset"]), version, today)),
        (
            hive_listings,
            ["ticker", "exchange"],
            _mapping_rows(_claims_of(connection, "listing", subjects["listing"]), version, listing=True),
        ),
        (hive_aliases, ["alias", "isin"], _alias_rows(_claims_of(connection, "alias", subjects["alias"]), version)),
        (
            hive_provider_mappings,
            ["provider", "provider_id"],
            _mapping_rows(_claims_of(connection, "provider", subjects["provider"]), version, listing=False),
        ),
    ]
    for table, keys, wanted in targets:
        existing = _existing(connection, table, keys, [tuple(row[k] for k in keys) for row in wanted])
        new = _changed(wanted, existing, keys)
        for part in _chunks(new):
            upsert_rows(connection, table, list(part), keys)
        changed += len(new)
    changed += _store_funds(connection, [fund.etf_isin for fund in batch.funds], version, today)
    if not changed:
        return version - 1
    connection.execute(hive_versions.insert().values(version=version, changed=changed, created_on=today))
    audit = [
        {
            "id": uuid.uuid4(),
            "pseudonym": who,
            "epoch": epoch,
            "target_table": table,
            "items": items,
            "version": version,
            "created_on": today,
        }
        for table, items in batch.counts.items()
        if items
    ]
    if audit:
        connection.execute(hive_contributions.insert(), audit)
    return version
