"""``enrichment_cache.json``: ``{ISIN: {isin, name, ticker, sector, geography, asset_class}}``.

Read as asset facts that only fill blanks of assets the account (or this import)
already knows; ``geography`` becomes the asset's ``country`` metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.text import fix_mojibake
from prism.imports.legacy.universe import AssetFacts, asset_kind, is_placeholder

__all__ = ["read_enrichment"]


def _text(entry: dict[str, object], key: str, isin: str | None = None) -> str | None:
    value = entry.get(key)
    if not isinstance(value, str) or is_placeholder(value, isin):
        return None
    return fix_mojibake(value.strip())


def read_enrichment(path: Path, report: FileReport) -> list[AssetFacts]:
    """The facts of one enrichment cache, with unreadable entries reported."""
    try:
        document = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        report.skip("file", f"is not JSON: {error}")
        return []
    if not isinstance(document, dict):
        report.skip("file", "is not an object keyed by ISIN")
        return []
    facts: list[AssetFacts] = []
    for key, entry in document.items():
        try:
            isin = parse_isin(key)
        except ValidationError as error:
            report.skip(repr(key), str(error))
            continue
        if not isinstance(entry, dict):
            report.skip(isin, "is not an object")
            continue
        metadata: dict[str, object] = {}
        for source, target in (("sector", "sector"), ("geography", "country")):
            value = _text(entry, source)
            if value is not None:
                metadata[target] = value
        facts.append(
            AssetFacts(
                isin=isin,
                name=_text(entry, "name"),
                kind=asset_kind(_text(entry, "asset_class")),
                ticker=_text(entry, "ticker", isin),
                metadata=metadata,
            )
        )
    return facts
