"""A one-shot import of the old Supabase hive's tables (a folder of CSV or JSON dumps).

Reads ``assets``, ``listings``, ``aliases``, ``provider_mappings`` and ``etf_holdings``
(``<table>.csv`` with a header row, or ``<table>.json``, an array of objects) and
stores them as the claims of one contributor, ``legacy-import``: the old counts rose
without a distinct-contributor check, so they are not evidence of anything and are
dropped. ``contributions`` is not read (it held the old contributor ids). Old quirks
handled: a BOM, empty strings for nulls, ``Not Found`` placeholder names (a stub),
enum spellings in any case, lower-case currencies, weights in percent, decimal commas.
A row that cannot be used (a bad ISIN check digit, say) is skipped and reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from prism.domain.isin import is_valid_isin
from prism.domain.money import CURRENCIES, canonical
from prism.errors import ValidationError
from prism.hive.checks import SEP, CheckedBatch, ClaimIn, FundIn, composition_digest
from prism.hive.contributions import store_batch
from prism.hive.pseudonyms import epoch_of
from prism.storage.engine import Database

__all__ = ["LEGACY_CONTRIBUTOR", "DumpReport", "import_dump", "read_dump"]

#: The one pseudonym every imported fact is stored under.
LEGACY_CONTRIBUTOR = "legacy-import"
_CLASSES = {
    "equity": "Equity",
    "stock": "Equity",
    "etf": "ETF",
    "etc": "ETF",
    "cash": "Cash",
    "crypto": "Crypto",
    "bond": "Bond",
    "fund": "Fund",
}
_ASSET_COLUMNS = ("name", "wkn", "sector", "geography")


@dataclass(slots=True)
class DumpReport:
    """What an import read: rows per table, and every row it skipped with the reason."""

    rows: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    version: int = 0


def _table(folder: Path, name: str) -> list[dict[str, Any]]:
    csv_path, json_path = folder / f"{name}.csv", folder / f"{name}.json"
    if csv_path.exists():
        with csv_path.open(encoding="utf-8-sig", newline="") as handle:
            return [{k.strip().lower(): v for k, v in row.items() if k} for row in csv.DictReader(handle)]
    if json_path.exists():
        loaded = json.loads(json_path.read_text(encoding="utf-8-sig"))
        if not isinstance(loaded, list):
            raise ValidationError("must hold an array of rows", field=json_path.name)
        return [{str(k).lower(): v for k, v in row.items()} for row in loaded if isinstance(row, dict)]
    return []


def _value(row: dict[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _isin(row: dict[str, Any], name: str, where: str, report: DumpReport) -> str | None:
    value = (_value(row, name) or "").upper()
    if not is_valid_isin(value):
        report.skipped.append(f"{where}: {name} {value!r} is not a valid ISIN")
        return None
    return value


def _currency(value: str | None) -> str | None:
    code = (value or "").upper()
    return code if code in CURRENCIES else None


def _decimal(value: str | None) -> Decimal | None:
    if value is None:
        return None
    text = value.replace(" ", "")
    if "," in text:
        text = text.replace(".", "").replace(",", ".")  # a German decimal: 1.234,56
    try:
        number = Decimal(text)
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _assets(rows: list[dict[str, Any]], batch: CheckedBatch, report: DumpReport) -> None:
    for index, row in enumerate(rows):
        isin = _isin(row, "isin", f"assets row {index + 2}", report)
        if isin is None:
            continue
        status = "stub" if (_value(row, "enrichment_status") or "stub").lower() != "active" else "active"
        values = {name: _value(row, name) for name in _ASSET_COLUMNS}
        if values["name"] in {"Not Found", "Unknown"}:
            values["name"], status = None, "stub"
        values["asset_class"] = _CLASSES.get((_value(row, "asset_class") or "").lower())
        values["base_currency"] = _currency(_value(row, "base_currency"))
        for name, value in values.items():
            if value is not None:
                batch.claims.append(ClaimIn("asset", isin, name, value[:200], status))
        batch.claims.append(ClaimIn("asset", isin, "exists", "1", status))
        batch.counts["assets"] += 1


def _keyed(rows: list[dict[str, Any]], table: str, batch: CheckedBatch, report: DumpReport) -> None:
    for index, row in enumerate(rows):
        isin = _isin(row, "isin", f"{table} row {index + 2}", report)
        if isin is None:
            continue
        if table == "listings":
            ticker, exchange = (_value(row, "ticker") or "").upper(), (_value(row, "exchange") or "").upper()
            if not ticker or not exchange:
                report.skipped.append(f"listings row {index + 2}: no ticker or exchange")
                continue
            subject = f"{ticker[:30]}{SEP}{exchange[:10]}"
            batch.claims.append(ClaimIn("listing", subject, "isin", isin))
            currency = _currency(_value(row, "currency"))
            if currency:
                batch.claims.append(ClaimIn("listing", subject, "currency", currency))
        elif table == "provider_mappings":
            provider, provider_id = _value(row, "provider"), _value(row, "provider_id")
            if not provider or not provider_id:
                report.skipped.append(f"provider_mappings row {index + 2}: no provider or id")
                continue
            batch.claims.append(ClaimIn("provider", f"{provider[:30]}{SEP}{provider_id[:50]}", "isin", isin))
        else:
            alias = _value(row, "alias")
            if not alias:
                report.skipped.append(f"aliases row {index + 2}: no alias")
                continue
            confidence = _decimal(_value(row, "confidence"))
            if confidence is not None and not 0 <= confidence <= 1:
                confidence = None
            subject = f"{alias[:100].upper()}{SEP}{isin}"
            kind = (_value(row, "alias_type") or "name").lower()[:20]
            batch.claims.append(ClaimIn("alias", subject, "alias_type", kind, confidence=confidence))
            batch.claims.append(ClaimIn("alias", subject, "source", (_value(row, "source") or "user").lower()[:30]))
        batch.counts[table] += 1


def _funds(rows: list[dict[str, Any]], batch: CheckedBatch, report: DumpReport, today: dt.date) -> None:
    by_fund: dict[str, list[tuple[str, Decimal]]] = defaultdict(list)
    days: dict[str, dt.date] = {}
    for index, row in enumerate(rows):
        where = f"etf_holdings row {index + 2}"
        fund, holding = _isin(row, "etf_isin", where, report), _isin(row, "holding_isin", where, report)
        weight = _decimal(_value(row, "weight"))
        if fund is None or holding is None:
            continue
        if weight is None or weight < 0:
            report.skipped.append(f"{where}: weight {_value(row, 'weight')!r} is not a number")
            continue
        by_fund[fund].append((holding, weight))
        try:
            day = dt.date.fromisoformat((_value(row, "last_updated") or today.isoformat())[:10])
        except ValueError:
            day = today
        days[fund] = max(days.get(fund, dt.date.min), day)
    for fund, holdings in by_fund.items():
        weights = [weight for _isin_, weight in holdings]
        # The old client sent percentages: a weight above one, or a sum above 1.5, is one.
        scale = Decimal(100) if max(weights) > 1 or sum(weights) > Decimal("1.5") else Decimal(1)
        merged: dict[str, Decimal] = defaultdict(Decimal)
        for isin, weight in holdings:
            merged[isin] += weight / scale
        shaped: list[list[str | None]] = [
            [isin, None, canonical(weight.quantize(Decimal("1e-12"))), None, None, None, None]
            for isin, weight in sorted(merged.items())
        ]
        batch.funds.append(FundIn(fund, days[fund], composition_digest(shaped), shaped))
        batch.counts["etf_holdings"] += len(shaped)


def read_dump(folder: Path, *, today: dt.date) -> tuple[CheckedBatch, DumpReport]:
    """The dump in ``folder`` as one batch of claims, and what was skipped."""
    if not folder.is_dir():
        raise ValidationError(f"{folder} is not a folder", field="folder")
    batch, report = CheckedBatch(), DumpReport()
    batch.counts = defaultdict(int)
    _assets(_table(folder, "assets"), batch, report)
    for table in ("listings", "aliases", "provider_mappings"):
        _keyed(_table(folder, table), table, batch, report)
    _funds(_table(folder, "etf_holdings"), batch, report, today)
    if (folder / "contributions.csv").exists() or (folder / "contributions.json").exists():
        report.skipped.append("contributions: not imported (it held the old contributor ids)")
    report.rows = dict(batch.counts)
    if not batch.claims and not batch.funds:
        raise ValidationError("holds none of the old hive's tables", field="folder")
    return batch, report


async def import_dump(database: Database, folder: Path, *, today: dt.date) -> DumpReport:
    """Read the dump in ``folder`` (before any transaction) and store it as one contributor's claims."""
    batch, report = read_dump(folder, today=today)
    report.version = await database.write(store_batch, batch, LEGACY_CONTRIBUTOR, epoch_of(today), today)
    return report
