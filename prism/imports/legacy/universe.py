"""``asset_universe.csv``: the old app's asset list, read as asset facts.

Columns: ``ISIN, TR_Ticker, Yahoo_Ticker, Name, Aliases, Provider, Asset_Class,
Source, Added_Date, Last_Verified``. Placeholders carry no information and are
dropped: a ``Name`` of ``Not Found``, a ``TR_Ticker`` of ``-`` or equal to the ISIN.
A row whose ISIN has a bad check digit is skipped and reported; a repeated ISIN
keeps its first row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.text import fix_mojibake, read_csv_rows

__all__ = ["KINDS", "AssetFacts", "asset_kind", "is_placeholder", "read_universe"]

#: The old app's asset classes (and the Hive's) as Prism asset kinds.
KINDS = {
    "stock": "stock",
    "equity": "stock",
    "etf": "etf",
    "etc": "etc",
    "fund": "fund",
    "crypto": "crypto",
    "bond": "bond",
    "cash": "cash",
}
_PLACEHOLDERS = {"", "-", "--", "not found", "n/a", "none", "null", "unknown"}
_ALIAS_SPLIT = re.compile(r"[|,]")


@dataclass(slots=True)
class AssetFacts:
    """What a legacy file says about one asset; None is "not said"."""

    isin: str
    name: str | None = None
    kind: str | None = None
    ticker: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def is_placeholder(value: str | None, isin: str | None = None) -> bool:
    """True for the old app's "no value" spellings (and a ticker that is just the ISIN)."""
    if value is None:
        return True
    text = value.strip()
    return text.casefold() in _PLACEHOLDERS or (isin is not None and text.upper() == isin)


def asset_kind(text: str | None) -> str | None:
    """The Prism kind of an old asset class (None when unknown or empty)."""
    if text is None or not text.strip():
        return None
    return KINDS.get(text.strip().casefold(), "other")


def read_universe(path: Path, report: FileReport) -> list[AssetFacts]:
    """The assets of one ``asset_universe.csv``, with skips reported."""
    table = read_csv_rows(path)
    if "isin" not in table.header:
        report.skip("header", "no ISIN column")
        return []
    found: dict[str, AssetFacts] = {}
    for line, row in table.rows:
        where = f"line {line}"
        try:
            isin = parse_isin(row.get("isin", ""))
        except ValidationError as error:
            report.skip(where, str(error))
            continue
        if isin in found:
            report.skip(where, f"{isin} repeats an earlier row")
            continue
        metadata: dict[str, Any] = {}
        tr_ticker = row.get("tr_ticker")
        yahoo = row.get("yahoo_ticker")
        if not is_placeholder(tr_ticker, isin):
            metadata["tr_ticker"] = tr_ticker
        if not is_placeholder(yahoo, isin):
            metadata["yahoo_ticker"] = yahoo
        aliases = [a.strip() for a in _ALIAS_SPLIT.split(row.get("aliases", "")) if a.strip()]
        if aliases:
            metadata["aliases"] = aliases
        for column in ("provider", "source"):
            if not is_placeholder(row.get(column)):
                metadata[column] = row[column]
        name = row.get("name")
        found[isin] = AssetFacts(
            isin=isin,
            name=None if is_placeholder(name) else fix_mojibake(name or ""),
            kind=asset_kind(row.get("asset_class")),
            ticker=metadata.get("tr_ticker") or metadata.get("yahoo_ticker"),
            metadata=metadata,
        )
    return list(found.values())
