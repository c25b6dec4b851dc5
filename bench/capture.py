"""Change-capture overhead: the same ledger writes with capture on and off, in one run.

    python bench/capture.py                 # SQLite (FULL), 2,000 writes per side
    python bench/capture.py --writes 5000 --synchronous NORMAL

Every write to a synced table logs its changed columns in the same transaction
(docs/sync-protocol.md §2). To measure what that costs, this benchmark times ledger
writes (each its own committed transaction, projection maintained) through the real
store, alternating rounds with capture on and with capture replaced by a no-op in
every module that calls it. Only this benchmark does that: Prism itself has no switch
to write a synced table without capture. The goal is at most 1.5x.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings
from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.migrations import upgrade
from prism.storage import changes as change_log
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.engine import open_database
from prism.storage.ledger import record_transaction

console = Console()
CLOCK = EntryClock()
ISINS = ["IE00B4L5Y983", "US0378331005", "DE0007164600", "US5949181045", "IE00B5BMR087", "NL0010273215"]


@contextmanager
def capture_off() -> Iterator[None]:
    """Replace ``capture`` by a no-op wherever it was imported (benchmark only)."""
    real = change_log.capture
    holders = [m for m in list(sys.modules.values()) if getattr(m, "capture", None) is real]
    if not any(m.__name__ == "prism.storage.ledger" for m in holders):
        raise SystemExit("capture is no longer called as prism.storage.ledger.capture: update this benchmark")

    def skip(*_args: Any, **_kwargs: Any) -> None:
        return None

    for module in holders:
        module.capture = skip  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in holders:
            module.capture = real  # type: ignore[attr-defined]


async def run(writes: int, synchronous: str, folder: Path) -> None:
    database = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'bench.db'}", synchronous=synchronous))  # type: ignore[arg-type]
    await upgrade(database)

    def setup(c: Any) -> tuple[Any, Any, list[Any]]:
        owner = create_account(c, "bench")
        portfolio = create_portfolio(c, owner, "Broker", "EUR").id
        assets = [save_asset(c, owner, new_asset(owner, name=i, kind="etf", currency="EUR", isin=i)).id for i in ISINS]
        return owner, portfolio, assets

    owner, portfolio, assets = await database.write(setup)
    rng = random.Random(5)
    day = dt.date(2015, 1, 1)

    def buy() -> LedgerEntry:
        nonlocal day
        day += dt.timedelta(days=rng.random() < 0.3)
        price = Decimal(rng.randrange(1000, 50000)) / 100
        return LedgerEntry(
            new_id(), portfolio, TransactionType.BUY, day, CLOCK.next(), "EUR", rng.choice(assets),
            quantity=Decimal(rng.randrange(1, 40)), price=price, fee=Decimal("1"),
        )  # fmt: skip

    async def one_write() -> float:
        entry = buy()
        started = time.perf_counter()
        await database.write(record_transaction, owner, entry)
        return (time.perf_counter() - started) * 1000

    samples: dict[str, list[float]] = {"on": [], "off": []}
    rounds = 20
    for round_number in range(rounds * 2):
        side = "on" if round_number % 2 == 0 else "off"
        holder: Callable[[], Any] = capture_off if side == "off" else _nothing
        with holder():
            for _ in range(writes // rounds):
                samples[side].append(await one_write())
    await database.dispose()
    _report(samples, writes, synchronous)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _report(samples: dict[str, list[float]], writes: int, synchronous: str) -> None:
    on, off = statistics.median(samples["on"]), statistics.median(samples["off"])
    mean_on, mean_off = statistics.fmean(samples["on"]), statistics.fmean(samples["off"])
    table = Table(title=f"ledger writes, {writes:,} per side, SQLite synchronous={synchronous}")
    for column in ("measure", "capture on", "capture off (baseline)", "ratio (goal <= 1.5x)"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row("write, median", f"{on:.3f} ms", f"{off:.3f} ms", f"{on / off:.2f}x")
    table.add_row("write, mean", f"{mean_on:.3f} ms", f"{mean_off:.3f} ms", f"{mean_on / mean_off:.2f}x")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=2000)
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="FULL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as folder:
        asyncio.run(run(args.writes, args.synchronous, Path(folder)))


if __name__ == "__main__":
    main()
