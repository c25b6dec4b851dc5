"""Sync apply benchmark: merge another device's whole log into a fresh device.

    python bench/sync_apply.py              # the demo at scale 1 (~12,000 changes)
    python bench/sync_apply.py --scale 3
    python bench/sync_apply.py --scale 3 --page 2000   # catch-up pages of 2,000 changes

Device A records the demo ledger (every write captured); device B, empty but for the
account, applies A's complete change log in one transaction. Prints changes applied
per second beside the rate at which A captured them while writing, as a ratio, and the
rate of applying the same log again (all duplicates: the idempotent path). Device C
takes the log in pages, as a sync pull does: each page its own transaction marking
the projection stale, one rebuild at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings
from prism.demo import create_demo_book
from prism.migrations import upgrade
from prism.storage.catalog import create_account
from prism.storage.engine import Database, open_database
from prism.sync.codec import WireChange
from prism.sync.merge import apply_changes, changes_since, rebuild_stale

console = Console()


async def paged(device: Database, owner: uuid.UUID, log: list[WireChange], page: int) -> float:
    """Seconds to apply ``log`` in pages of ``page`` changes and rebuild once."""
    started = time.perf_counter()
    for start in range(0, len(log), page):
        await device.write(apply_changes, owner, log[start : start + page], rebuild=False)
    await device.write(rebuild_stale, owner)
    return time.perf_counter() - started


async def run(scale: float, page: int, folder: Path) -> None:
    device_a = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'a.db'}", synchronous="NORMAL"))
    device_b = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'b.db'}", synchronous="NORMAL"))
    device_c = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'c.db'}", synchronous="NORMAL"))
    for device in (device_a, device_b, device_c):
        await upgrade(device)
    started = time.perf_counter()
    book = await device_a.write(create_demo_book, scale=scale)
    written = time.perf_counter() - started
    log = await device_a.read(changes_since, book.owner_id)
    for device in (device_b, device_c):
        await device.write(lambda c: create_account(c, "me", account_id=book.owner_id))
    started = time.perf_counter()
    report = await device_b.write(apply_changes, book.owner_id, log)
    applied = time.perf_counter() - started
    started = time.perf_counter()
    await device_b.write(apply_changes, book.owner_id, log)  # every change a duplicate now
    again = time.perf_counter() - started
    in_pages = await paged(device_c, book.owner_id, log, page)
    for device in (device_a, device_b, device_c):
        await device.dispose()
    table = Table(title=f"{len(log):,} changes ({book.entries:,} transactions, {book.assets:,} assets)")
    for column in ("measure", "figure", "baseline", "ratio"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "apply on device B, changes/s",
        f"{len(log) / applied:,.0f}",
        f"{len(log) / written:,.0f} (captured while A wrote)",
        f"{written / applied:.2f}x",
    )
    table.add_row("apply, total", f"{applied:.1f} s", f"{written:.1f} s", "")
    table.add_row(f"apply in pages of {page:,}, one rebuild, changes/s", f"{len(log) / in_pages:,.0f}", "", "")
    table.add_row("re-apply (all duplicates), changes/s", f"{len(log) / again:,.0f}", "", "")
    table.add_row("pending after apply", str(report.pending), "", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--page", type=int, default=2000, help="changes per page on device C")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-sync-") as folder:
        asyncio.run(run(args.scale, args.page, Path(folder)))


if __name__ == "__main__":
    main()
