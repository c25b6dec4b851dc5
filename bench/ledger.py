"""Ledger benchmark: the positions projection against its baselines, side by side.

    python bench/ledger.py                      # SQLite, 1,000 assets, 100,000 transactions
    python bench/ledger.py --database postgresql  # the same on a throwaway PostgreSQL (pgserver)

Measures, on one ledger of ``--transactions`` rows over ``--assets`` assets:

* write: one ledger write (its own committed transaction) with the projection
  maintained, against the same row written without it;
* read: holdings of every asset from the projection, against a full recomputation
  from the ledger (what a tracker without a projection does).
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
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Connection

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings, normalize_database_url
from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.migrations import upgrade
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.engine import Database, open_database
from prism.storage.entries import entry_values
from prism.storage.holdings import read_holdings, recompute_holdings
from prism.storage.ledger import record_transaction
from prism.storage.projection import rebuild_owner
from prism.storage.tables import transactions

console = Console()
CLOCK = EntryClock()
START = dt.date(2014, 1, 1)


def _isin(n: int) -> str:
    """A valid ISIN per number (country XS, Luhn check digit computed)."""
    from prism.domain.isin import is_valid_isin

    body = f"XS{n:09d}"
    return next(body + str(d) for d in range(10) if is_valid_isin(body + str(d)))


def _ledger(owner_portfolios: list[uuid.UUID], assets: list[uuid.UUID], count: int, seed: int) -> list[LedgerEntry]:
    """A plausible ledger: mostly buys, some sells of what is held, dividends; ten years."""
    rng = random.Random(seed)
    held: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    entries = []
    days = sorted(rng.randrange(3650) for _ in range(count))
    for day in days:
        portfolio, asset = rng.choice(owner_portfolios), rng.choice(assets)
        date = START + dt.timedelta(days=day)
        price = Decimal(rng.randrange(1000, 50000)) / 100
        quantity = held.get((portfolio, asset), Decimal(0))
        roll = rng.random()
        if roll < 0.2 and quantity > 0:
            sold = min(quantity, Decimal(rng.randrange(1, 20)))
            kind, fields = TransactionType.SELL, {"quantity": sold, "price": price, "fee": Decimal("1.5")}
            held[(portfolio, asset)] = quantity - sold
        elif roll < 0.3 and quantity > 0:
            kind, fields = TransactionType.DIVIDEND, {"amount": Decimal(rng.randrange(100, 10000)) / 100}
        else:
            bought = Decimal(rng.randrange(1, 40))
            kind, fields = TransactionType.BUY, {"quantity": bought, "price": price, "fee": Decimal("1")}
            held[(portfolio, asset)] = quantity + bought
        entries.append(LedgerEntry(new_id(), portfolio, kind, date, CLOCK.next(), "EUR", asset, **fields))  # type: ignore[arg-type]
    return entries


async def _setup(
    database: Database, n_assets: int, n_transactions: int
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    def create(c: Connection) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
        owner = create_account(c, "bench")
        portfolios = [create_portfolio(c, owner, name, "EUR").id for name in ("Broker", "Pension", "Kids")]
        asset_ids = []
        for n in range(n_assets):
            asset = new_asset(owner, name=f"Asset {n}", kind="stock", currency="EUR", isin=_isin(n))
            asset_ids.append(save_asset(c, owner, asset).id)
        return owner, portfolios, asset_ids

    owner, portfolios, asset_ids = await database.write(create)
    entries = _ledger(portfolios, asset_ids, n_transactions, seed=7)
    now = dt.datetime.now(dt.UTC)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"loading {n_transactions:,} transactions", total=len(entries))
        for start in range(0, len(entries), 5000):
            chunk = entries[start : start + 5000]
            rows = [{**entry_values(e), "owner_id": owner, "created_at": now, "updated_at": now} for e in chunk]
            await database.write(lambda c, rows=rows: c.execute(transactions.insert(), rows))
            progress.advance(task, len(chunk))
    started = time.perf_counter()
    await database.write(rebuild_owner, owner)
    console.print(f"projection built from the ledger in {time.perf_counter() - started:.1f} s")
    return owner, portfolios, asset_ids


async def _timed(action: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1] if len(ordered) > 1 else ordered[0]
    return f"{statistics.median(samples):.2f} ms (p95 {p95:.2f})"


async def run(args: argparse.Namespace, url: str) -> None:
    database = open_database(DatabaseSettings(url=url, synchronous=args.synchronous))
    await upgrade(database)
    owner, portfolios, assets = await _setup(database, args.assets, args.transactions)
    rng = random.Random(11)
    last = START + dt.timedelta(days=3651)

    def buy(day: dt.date, quantity: int = 3) -> LedgerEntry:
        return LedgerEntry(
            new_id(),
            rng.choice(portfolios),
            TransactionType.BUY,
            day,
            CLOCK.next(),
            "EUR",
            rng.choice(assets),
            quantity=Decimal(quantity),
            price=Decimal("12.34"),
            fee=Decimal(1),
        )

    async def write_with_projection() -> None:
        await database.write(record_transaction, owner, buy(last))

    async def write_row_only() -> None:
        now = dt.datetime.now(dt.UTC)
        row = {**entry_values(buy(last)), "owner_id": owner, "created_at": now, "updated_at": now}
        await database.write(lambda c: c.execute(transactions.insert().values(row)))

    async def backdated_write() -> None:
        day = START + dt.timedelta(days=rng.randrange(3650))
        await database.write(record_transaction, owner, buy(day, quantity=1))

    async def read_projection() -> None:
        await database.read(read_holdings, owner)

    async def read_recompute() -> None:
        await database.read(recompute_holdings, owner)

    async def read_one_portfolio() -> None:
        await database.read(read_holdings, owner, portfolio_id=portfolios[0])

    async def recompute_one_portfolio() -> None:
        await database.read(recompute_holdings, owner, portfolio_id=portfolios[0])

    results = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("measuring", total=7)
        for label, action, repeat in [
            ("write, projection maintained", write_with_projection, args.writes),
            ("write, row only (baseline)", write_row_only, args.writes),
            ("back-dated write, projection maintained", backdated_write, max(20, args.writes // 10)),
            ("holdings read, projection", read_projection, args.reads),
            ("holdings read, full recomputation (baseline)", read_recompute, max(3, args.reads // 10)),
            ("one portfolio's holdings, projection", read_one_portfolio, args.reads),
            ("one portfolio's holdings, recomputation (baseline)", recompute_one_portfolio, max(3, args.reads // 10)),
        ]:
            results.append((label, await _timed(action, repeat)))
            progress.advance(task)
    holdings = len(await database.read(read_holdings, owner))
    in_first = len(await database.read(read_holdings, owner, portfolio_id=portfolios[0]))
    await database.dispose()

    tuning = f" (synchronous={args.synchronous})" if args.database == "sqlite" else ""
    table = Table(
        title=f"{args.database}: {args.assets:,} assets, {args.transactions:,} transactions, "
        f"{holdings:,} holdings{tuning}"
    )
    for column in ("measure", "figure", "baseline", "ratio"):
        table.add_column(column, justify="right" if column != "measure" else "left")
    medians = {label: statistics.median(samples) for label, samples in results}
    table.add_row(
        "single write (median)",
        _summary(results[0][1]),
        _summary(results[1][1]),
        f"{medians[results[0][0]] / medians[results[1][0]]:.2f}x the baseline's time",
    )
    table.add_row(
        "writes per second",
        f"{1000 / medians[results[0][0]]:.0f}",
        f"{1000 / medians[results[1][0]]:.0f}",
        f"{medians[results[1][0]] / medians[results[0][0]]:.2f}x the baseline's rate",
    )
    table.add_row(
        "back-dated write (replays one asset)",
        _summary(results[2][1]),
        _summary(results[1][1]),
        f"{medians[results[2][0]] / medians[results[1][0]]:.2f}x the baseline's time",
    )
    table.add_row(
        f"holdings read, all portfolios ({holdings:,} holdings)",
        _summary(results[3][1]),
        _summary(results[4][1]),
        f"{medians[results[4][0]] / medians[results[3][0]]:.0f}x faster",
    )
    table.add_row(
        f"holdings read, one portfolio ({in_first:,} holdings)",
        _summary(results[5][1]),
        _summary(results[6][1]),
        f"{medians[results[6][0]] / medians[results[5][0]]:.0f}x faster",
    )
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=500)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="FULL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as folder:
        if args.database == "sqlite":
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            asyncio.run(run(args, url))
            return
        import pgserver

        server = pgserver.get_server(Path(folder) / "pg", cleanup_mode="stop")
        try:
            asyncio.run(run(args, normalize_database_url(server.get_uri())))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
