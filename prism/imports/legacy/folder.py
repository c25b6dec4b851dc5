"""Finding the old app's files in a data folder, wherever they sit under it.

Files are recognised by name (the old app's ``config/`` and ``data/working/``
layout and the newer app's data directory both work). Backups
(``*.csv.backup.YYYYMMDD_HHMMSS``) are ignored; secrets (``.env``, keyring
exports, token files) are never opened, only named in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from prism.domain.isin import parse_isin
from prism.errors import ValidationError

__all__ = ["LegacyFiles", "etf_cache_files", "find_legacy_files"]

_SECRET = re.compile(r"(^\.env($|\.)|\.env$|keyring|token|secret|credential|\.pem$|\.key$)", re.IGNORECASE)
_BACKUP = re.compile(r"\.csv\.backup\.", re.IGNORECASE)


@dataclass(slots=True)
class LegacyFiles:
    """The files of each format under a folder (sorted, so imports are repeatable)."""

    universe: list[Path] = field(default_factory=list)
    holdings: list[Path] = field(default_factory=list)
    enrichment: list[Path] = field(default_factory=list)
    etf_metadata: list[Path] = field(default_factory=list)  # each ``_metadata.json``; its folder holds the CSVs
    trades: list[Path] = field(default_factory=list)
    cash: list[Path] = field(default_factory=list)
    databases: list[Path] = field(default_factory=list)
    backups: list[Path] = field(default_factory=list)
    secrets: list[Path] = field(default_factory=list)


def _is_isin_file(path: Path) -> bool:
    try:
        parse_isin(path.stem)
    except ValidationError:
        return False
    return True


def find_legacy_files(root: Path) -> LegacyFiles:
    """Every file under ``root`` a legacy import reads, ignores or must not touch."""
    found = LegacyFiles()
    named = {
        "asset_universe.csv": found.universe,
        "calculated_holdings.csv": found.holdings,
        "enrichment_cache.json": found.enrichment,
        "_metadata.json": found.etf_metadata,
        "trades.csv": found.trades,
        "transactions.csv": found.cash,
        "prism.db": found.databases,
    }
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        name = path.name.lower()
        if _SECRET.search(name):
            found.secrets.append(path)
        elif _BACKUP.search(name):
            found.backups.append(path)
        elif name in named:
            named[name].append(path)
    return found


def etf_cache_files(metadata: Path) -> list[Path]:
    """The ``{ISIN}.csv`` compositions beside a ``_metadata.json``."""
    return sorted(p for p in metadata.parent.glob("*.csv") if _is_isin_file(p))
