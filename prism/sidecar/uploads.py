"""Fund compositions the user uploads: preview a file, then commit the reviewed rows to the lake.

A file is read as the old app's ETF holdings caches are (any provider's columns,
percentages or fractions, German decimals; :func:`prism.imports.legacy.etf.read_etf_cache`),
constituents without an ISIN matched by ticker or name against the account's assets.
The preview shows weights in percent, as the old frontend does; a commit writes the
rows it is sent as one composition of the fund dated today (``etf_holdings``, which
replaces that fund's composition of the same day), checked first and written under
the lake's writer lease: a rejected commit writes nothing.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections import Counter
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from prism.analytics.market import import_market_rows
from prism.analytics.market_files import MarketKind, raw_from_records
from prism.domain.isin import parse_isin
from prism.errors import ValidationError
from prism.imports.legacy.etf import IsinMatcher, read_etf_cache
from prism.imports.legacy.report import FileReport
from prism.sidecar.call import Call
from prism.storage.catalog import list_assets

__all__ = ["commit_holdings_upload", "preview_holdings_upload", "upload_holdings"]

_HUNDRED = Decimal(100)
_TOLERANCE = Decimal("0.5")
_WEIGHT_PLACES = Decimal("0.000001")
_MAX_ROWS = 100_000


def _fund(payload: dict[str, Any]) -> str:
    given = payload.get("etfIsin")
    if not isinstance(given, str) or not given.strip():
        raise ValidationError("is required", field="etfIsin")
    return parse_isin(given.strip(), field="etfIsin")


def _file(payload: dict[str, Any]) -> Path:
    given = payload.get("filePath")
    if not isinstance(given, str) or not given.strip():
        raise ValidationError("is required", field="filePath")
    path = Path(given).expanduser()
    if not path.is_file():
        raise ValidationError(f"no file at {given}", field="filePath")
    return path


def _read(path: Path, fund: str, matcher: IsinMatcher) -> tuple[list[dict[str, Any]], list[str]]:
    """The file's rows (weights in percent) and what was noticed reading it."""
    report = FileReport(str(path), "etf holdings")
    with tempfile.TemporaryDirectory(prefix="prism-upload-") as folder:
        # The reader takes the fund from the file's name, as the old caches were named.
        named = Path(folder) / f"{fund}{path.suffix or '.csv'}"
        shutil.copyfile(path, named)
        composition = read_etf_cache(named, {}, matcher, report)
    if composition is None:
        raise ValidationError("no holdings with a weight were found in the file", field="filePath")
    table = composition.raw.table.to_pydict()
    rows = []
    for index in range(composition.raw.table.num_rows):
        percent = table["weight_pct"][index]
        fraction = table["weight"][index]
        weight = Decimal(percent) if percent is not None else Decimal(fraction or "0") * _HUNDRED
        rows.append(
            {
                "rowId": index,
                "isin": table["constituent_isin"][index] or "",
                "name": table["constituent_name"][index] or "",
                "weight": weight.quantize(_WEIGHT_PLACES),
            }
        )
    return rows, [note.replace(named.name, path.name) for note in report.notes]


def _warnings(rows: list[dict[str, Any]], total: Decimal) -> list[str]:
    found = []
    if abs(total - _HUNDRED) > _TOLERANCE:
        found.append(f"Total weight is {total.quantize(Decimal('0.01'))}%, which differs from the expected 100%.")
    repeated = sum(count - 1 for isin, count in Counter(r["isin"] for r in rows if r["isin"]).items() if count > 1)
    if repeated:
        found.append(f"Detected {repeated} duplicate ISIN rows. Review before saving.")
    unnamed = sum(1 for r in rows if not r["isin"])
    if unnamed:
        found.append(f"{unnamed} rows have no ISIN and will be kept by name (unresolved in look-through).")
    return found


async def _matcher(call: Call) -> IsinMatcher:
    services = await call.open_services()
    matcher = IsinMatcher()
    for asset in await services.database.read(list_assets, services.owner_id):
        if asset.isin:
            if asset.ticker:
                matcher.by_ticker.setdefault(asset.ticker.upper(), asset.isin)
            matcher.by_name.setdefault(asset.name.casefold(), asset.isin)
    return matcher


async def preview_holdings_upload(call: Call) -> dict[str, Any]:
    """The file's holdings as the user will review them; nothing is written."""
    fund, path = _fund(call.payload), _file(call.payload)
    rows, notes = await asyncio.to_thread(_read, path, fund, await _matcher(call))
    total = sum((row["weight"] for row in rows), Decimal(0))
    return {
        "isin": fund,
        "filePath": str(path),
        "fileName": path.name,
        "holdingsCount": len(rows),
        "totalWeight": total.quantize(Decimal("0.01")),
        "warnings": _warnings(rows, total) + notes,
        "rows": rows,
    }


def _weight(value: Any, index: int) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
        raise ValidationError("must be a number (percent)", field=f"holdings[{index}].weight")
    try:
        weight = Decimal(value)
    except InvalidOperation:
        raise ValidationError("must be a number (percent)", field=f"holdings[{index}].weight") from None
    if not weight.is_finite() or weight < 0 or weight > _HUNDRED:
        raise ValidationError("must be a percentage from 0 to 100", field=f"holdings[{index}].weight")
    return weight


def _records(fund: str, holdings: Any, as_of: str) -> list[dict[str, str | None]]:
    if not isinstance(holdings, list) or not holdings:
        raise ValidationError("at least one holding is required", field="holdings")
    if len(holdings) > _MAX_ROWS:
        raise ValidationError(f"at most {_MAX_ROWS:,} holdings", field="holdings")
    records: list[dict[str, str | None]] = []
    for index, row in enumerate(holdings):
        if not isinstance(row, dict):
            raise ValidationError("must be an object {isin, name, weight}", field=f"holdings[{index}]")
        weight = _weight(row.get("weight"), index)
        isin_text = str(row.get("isin") or "").strip()
        name = str(row.get("name") or "").strip() or None
        isin = parse_isin(isin_text, field=f"holdings[{index}].isin") if isin_text else None
        if isin is None and name is None:
            raise ValidationError("needs an ISIN or a name", field=f"holdings[{index}]")
        if weight == 0:
            continue
        records.append(
            {
                "fund_isin": fund,
                "as_of": as_of,
                "constituent_isin": isin,
                "constituent_name": name,
                "weight_pct": format(weight, "f"),
            }
        )
    if not records:
        raise ValidationError("no holding has a weight above zero", field="holdings")
    return records


async def _commit(call: Call, fund: str, holdings: Any) -> dict[str, Any]:
    records = _records(fund, holdings, call.today().isoformat())
    services = await call.open_services()
    written = await import_market_rows(
        services.database,
        services.lake,
        services.settings.lake_lock_path,
        raw_from_records(MarketKind.ETF_HOLDINGS, records),
    )
    total = sum((Decimal(str(r["weight_pct"])) for r in records), Decimal(0))
    return {
        "success": True,
        "isin": fund,
        "holdingsCount": written.rows,
        "totalWeight": total.quantize(Decimal("0.01")),
        # Prism's hive takes assets and listings, not fund compositions.
        "contributedToHive": False,
        "message": "Holdings saved. Run the analysis again to see them in your exposure.",
    }


async def commit_holdings_upload(call: Call) -> dict[str, Any]:
    """Write the reviewed rows as the fund's composition of today."""
    return await _commit(call, _fund(call.payload), call.payload.get("holdings"))


async def upload_holdings(call: Call) -> dict[str, Any]:
    """Read a file and commit its rows at once (the older frontend's single step)."""
    fund, path = _fund(call.payload), _file(call.payload)
    rows, _ = await asyncio.to_thread(_read, path, fund, await _matcher(call))
    return await _commit(call, fund, rows)
