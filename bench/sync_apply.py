"""Sync apply benchmark: merge another device's whole log into a fresh device.

    python bench/sync_apply.py              # the demo at scale 1 (~12,000 changes)
    python bench/sync_apply.py --scale 3

Device A records the demo ledger (every write captured); device B, empty but for the
account, applies A's complete change log in one transaction. Prints changes applied
per second beside the rate at which A captured them while writing, as a ratio, and the
rate of applying the same log again (all duplicates: the idempotent path).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings
from prism.demo import create_demo_book
from prism.migrations import upgrade
from prism.storage.catalog import create_account
from prism.storage.engine import open_database
from prism.sync.merge import apply_changes, changes_since

console = Console()


async def run(scale: float, folder: Path) -> None:
    device_a = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'a.db'}", synchronous="NORMAL"))
    device_b = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'b.db'}", synchronous="NORMAL"))
    for device in (device_a, device_b):
        await upgrade(device)
    started = time.perf_counter()
    book = await device_a.write(create_demo_book, scale=scale)
    written = time.perf_counter() - started
    log = await device_a.read(changes_since, book.owner_id)
    await device_b.write(lambda c: create_account(c, "me", account_id=book.owner_id))
    started = time.perf_counter()
    report = await device_b.write(apply_changes, book.owner_id, log)
    applied = time.perf_counter() - started
    started = time.perf_counter()
    await device_b.write(apply_changes, book.owner_id, log)  # every change a duplicate now
    again = time.perf_counter() - started
    await device_a.dispose()
    await device_b.dispose()
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
    table.add_row("re-apply (all duplicates), changes/s", f"{len(log) / again:,.0f}", "", "")
    table.add_row("pending after apply", str(report.pending), "", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-sync-") as folder:
        asyncio.run(run(args.scale, Path(folder)))


if __name__ == "__main__":
    main()
