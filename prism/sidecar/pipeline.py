"""``run_pipeline`` and ``get_pipeline_report``: refresh the analytics, and say how it went.

The old pipeline decomposed ETFs and enriched securities into CSV files; in Prism the
daily values are the incremental snapshots job and look-through is computed on request
from the lake's compositions. Running the pipeline therefore brings the snapshots up to
date (under the lake's writer lease; a lake commit is atomic, so a run cut short leaves
the previous snapshots), then looks through the funds once to find what cannot be
decomposed or priced, and keeps that as the report the health view reads (a JSON file
in the data directory, written atomically).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from prism.analytics.exposure import ExposureReport, exposure
from prism.analytics.snapshots import refresh_snapshots
from prism.sidecar.book import Book, read_book
from prism.sidecar.call import Call

__all__ = ["REPORT_VERSION", "get_pipeline_report", "pipeline_report", "run_pipeline"]

REPORT_VERSION = 1
_REPORT_FILE = "sidecar-pipeline-report.json"
_FUNDS = {"etf", "fund"}
_ENCODER = msgspec.json.Encoder(decimal_format="number")
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def _report_path(call: Call) -> Path:
    return call.settings.data_dir / _REPORT_FILE


def _failure(severity: str, stage: str, item: str, error: str, fix: str) -> dict[str, str]:
    return {"severity": severity, "stage": stage, "item": item, "error": error, "fix": fix}


def pipeline_report(book: Book, found: ExposureReport, phases: dict[str, float], now: dt.datetime) -> dict[str, Any]:
    """The health report of one run, in the old pipeline's ``PipelineHealthReport`` shape."""
    funds = [line for line in book.lines if line.kind.lower() in _FUNDS]
    undecomposed = [fund for fund in funds if not fund.isin or fund.isin not in found.compositions]
    resolved = sum(1 for group in found.groups if len(group.key) == 12 and group.key[:2].isalpha())
    failures = [
        _failure(
            "high",
            "decomposition",
            fund.isin or fund.name,
            f"no composition of {fund.name} on or before {found.date.isoformat()}",
            "Upload the fund's holdings (preview_holdings_upload, then commit_holdings_upload).",
        )
        for fund in undecomposed
    ]
    failures += [
        _failure(
            "medium",
            "valuation",
            item.isin or item.name,
            f"{item.name} is not valued: {item.reason}",
            "Import prices (and FX rates) for it: prism market import.",
        )
        for item in found.unpriced
    ]
    return {
        "timestamp": now.isoformat(),
        "metrics": {
            "direct_holdings": len(book.lines) - len(funds),
            "etf_positions": len(funds),
            "etfs_processed": len(funds) - len(undecomposed),
            "tier1_resolved": resolved,
            "tier1_failed": len(found.groups) - resolved,
        },
        "performance": {
            "execution_time_seconds": round(sum(phases.values()), 3),
            "phase_durations": {name: round(seconds, 3) for name, seconds in phases.items()},
            "hive_hit_rate": 0,
            "api_fallback_rate": 0,
            "total_assets_processed": len(book.lines),
        },
        "failures": failures,
        "unresolved": {
            "currency": found.currency,
            "value": found.unresolved_value,
            "weight": found.unresolved_weight,
        },
    }


def _save(path: Path, document: dict[str, Any]) -> None:
    draft = path.with_suffix(".tmp")
    draft.write_bytes(_ENCODER.encode(document))
    os.replace(draft, path)


async def run_pipeline(call: Call) -> dict[str, Any]:
    """Refresh the snapshots and look through the funds, with progress events."""
    started = time.monotonic()
    call.progress(0, "Starting analytics pipeline...", "pipeline")
    services = await call.open_services()
    phases: dict[str, float] = {}
    mark = time.monotonic()
    call.progress(10, "Bringing the daily values up to date...", "snapshots")
    refreshed = await refresh_snapshots(
        services.database, services.lake, services.settings.lake_lock_path, services.owner_id
    )
    phases["snapshots"] = time.monotonic() - mark
    call.progress(
        60, f"Daily values current ({refreshed.rows:,} days recomputed). Looking through funds...", "decomposition"
    )
    mark = time.monotonic()
    book, found = await asyncio.gather(
        services.database.read(read_book, services.owner_id, None),
        exposure(services.database, services.lake, services.owner_id, by="security", on=call.today()),
    )
    phases["decomposition"] = time.monotonic() - mark
    call.progress(90, "Writing the report...", "reporting")
    report = pipeline_report(book, found, phases, dt.datetime.now(dt.UTC))
    await asyncio.to_thread(_save, _report_path(call), report)
    errors = [failure["error"] for failure in report["failures"] if failure["severity"] == "high"]
    call.progress(100, "Analytics complete!" if not errors else "Analytics completed with warnings.", "complete")
    return {"success": not errors, "errors": errors, "durationMs": round((time.monotonic() - started) * 1000)}


def _load(path: Path) -> dict[str, Any] | None:
    try:
        document = _DECODER.decode(path.read_bytes())
    except FileNotFoundError:
        return None
    except msgspec.DecodeError:
        return {}
    return document if isinstance(document, dict) else {}


async def get_pipeline_report(call: Call) -> dict[str, Any]:
    """The last run's report in the envelope the frontend reads (``missing`` before any run)."""
    report = await asyncio.to_thread(_load, _report_path(call))
    if report is None:
        return {
            "status": "missing",
            "reportVersion": REPORT_VERSION,
            "generatedAt": None,
            "report": None,
            "validationErrors": [],
        }
    if "timestamp" not in report:
        return {
            "status": "invalid",
            "reportVersion": REPORT_VERSION,
            "generatedAt": None,
            "report": None,
            "validationErrors": ["the stored report is damaged: run the pipeline again"],
        }
    return {
        "status": "ready",
        "reportVersion": REPORT_VERSION,
        "generatedAt": report["timestamp"],
        "report": report,
        "validationErrors": [],
    }
