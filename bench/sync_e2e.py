"""End-to-end sync: a device's history through a relay on PostgreSQL to a fresh device.

    python bench/sync_e2e.py                    # 1,000,000 changes (goal: under 30 s)
    python bench/sync_e2e.py --changes 200000   # a quicker look

Device A (SQLite) holds a ledger of ``--changes`` transactions across 1,000 assets,
each captured as one change-log row exactly as a local write logs it. A relay runs as
its own ``prism serve --mode hosted`` process on a throwaway PostgreSQL (pgserver).
The clock runs from A's first seal to B's last applied page: A seals its history into
change sets and pushes them; B joins with the passphrase, pulls every set, verifies,
decrypts and merges them, and rebuilds its holdings. Prints each phase, the relay's
peak resident memory (goal under 300 MB), and the total against the 30 s goal.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Connection, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.client.relay import RelayClient
from prism.config import DatabaseSettings, SyncSettings, normalize_database_url
from prism.domain.ids import EntryClock, new_id
from prism.domain.ledger import LedgerEntry, TransactionType
from prism.migrations import upgrade
from prism.storage.catalog import create_account, create_portfolio, new_asset, save_asset
from prism.storage.changes import wire_value
from prism.storage.engine import Database, open_database
from prism.storage.entries import entry_values
from prism.storage.holdings import read_holdings
from prism.storage.tables import changes, clock_states
from prism.sync.engine import SyncEngine
from prism.sync.enrol import create_sync_account, join_sync_account
from prism.sync.link import device_id_of

console = Console()
CLOCK = EntryClock()
PASSPHRASE = "a long benchmark passphrase"
FAST_KDF = SyncSettings(kdf_ops=1, kdf_mem_kib=8)  # the passphrase is not what is measured
_IDENTITY = {"owner_id", "id", "created_at", "updated_at"}


def _isin(n: int) -> str:
    from prism.domain.isin import is_valid_isin

    body = f"XS{n:09d}"
    return next(body + str(d) for d in range(10) if is_valid_isin(body + str(d)))


def _entries(portfolios: list[uuid.UUID], assets: list[uuid.UUID], count: int) -> list[LedgerEntry]:
    rng = random.Random(3)
    held: dict[tuple[uuid.UUID, uuid.UUID], Decimal] = {}
    start = dt.date(2014, 1, 1)
    days = sorted(rng.randrange(3650) for _ in range(count))
    found = []
    for day in days:
        portfolio, asset = rng.choice(portfolios), rng.choice(assets)
        price = Decimal(rng.randrange(1000, 50000)) / 100
        quantity = held.get((portfolio, asset), Decimal(0))
        if rng.random() < 0.2 and quantity > 0:
            sold = min(quantity, Decimal(rng.randrange(1, 20)))
            kind, fields = TransactionType.SELL, {"quantity": sold, "price": price, "fee": Decimal("1.5")}
            held[(portfolio, asset)] = quantity - sold
        else:
            bought = Decimal(rng.randrange(1, 40))
            kind, fields = TransactionType.BUY, {"quantity": bought, "price": price, "fee": Decimal("1")}
            held[(portfolio, asset)] = quantity + bought
        when = start + dt.timedelta(days=day)
        found.append(LedgerEntry(new_id(), portfolio, kind, when, CLOCK.next(), "EUR", asset, **fields))  # type: ignore[arg-type]
    return found


async def _device_a(database: Database, count: int) -> uuid.UUID:
    """A's account, portfolios and assets (captured writes), then ``count`` logged transactions."""

    def setup(c: Connection) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID], str]:
        owner = create_account(c, "bench")
        portfolios = [create_portfolio(c, owner, name, "EUR").id for name in ("Broker", "Pension", "Kids")]
        assets = [
            save_asset(c, owner, new_asset(owner, name=f"Asset {n}", kind="stock", currency="EUR", isin=_isin(n))).id
            for n in range(1000)
        ]
        return owner, portfolios, assets, device_id_of(c, owner)

    owner, portfolios, assets, device = await database.write(setup)
    entries = _entries(portfolios, assets, count)
    # After the captured set-up (a ledger entry is written after its portfolio and asset),
    # and the clock advanced past them as a device's own writes would.
    last = await database.read(
        lambda c: c.scalar(select(clock_states.c.last_hlc).where(clock_states.c.owner_id == owner))
    )
    base = int(last) + 1
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"device A: logging {count:,} transactions", total=count)
        for start in range(0, count, 20_000):
            rows = []
            for n, entry in enumerate(entries[start : start + 20_000], start=start):
                columns = {k: wire_value(v) for k, v in entry_values(entry).items() if k not in _IDENTITY}
                row = {"table_name": "transactions", "row_id": str(entry.id), "op": "insert", "columns": columns}
                rows.append({"owner_id": owner, "hlc": base + n, "device_id": device, **row})
            await database.write(lambda c, rows=rows: c.execute(changes.insert(), rows))
            progress.advance(task, len(rows))
    top = base + count
    await database.write(
        lambda c: c.execute(update(clock_states).where(clock_states.c.owner_id == owner).values(last_hlc=top))
    )
    return owner


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_relay(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "PRISM_DATA_DIR": str(folder / "relay")}
    prism = str(Path(sys.executable).with_name("prism"))
    args = [prism, "serve", "--mode", "hosted", "--database", url, "--port", str(port)]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the relay did not start")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run(count: int, folder: Path, pg_url: str) -> None:
    device_a = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'a.db'}", synchronous="NORMAL"))
    device_b = open_database(DatabaseSettings(url=f"sqlite:///{folder / 'b.db'}", synchronous="NORMAL"))
    for device in (device_a, device_b):
        await upgrade(device)
    owner = await _device_a(device_a, count)
    relay_process, relay_url = _start_relay(pg_url, folder)
    timings: dict[str, float] = {}
    try:
        async with RelayClient(relay_url) as relay:
            created = await create_sync_account(
                device_a, relay, relay_url=relay_url, passphrase=PASSPHRASE, settings=FAST_KDF,
                keys_path=folder / "a.keys",
            )  # fmt: skip
            keys_a = created.keys
            started = time.perf_counter()
            with console.status("device A: sealing and pushing"):
                pushed = await SyncEngine(device_a, keys_a, relay).push()
            timings["A seals and pushes"] = time.perf_counter() - started
        async with RelayClient(relay_url) as relay:
            mark = time.perf_counter()
            keys_b = await join_sync_account(
                device_b, relay, relay_url=relay_url, account_id=keys_a.account_id, passphrase=PASSPHRASE,
                keys_path=folder / "b.keys",
            )  # fmt: skip
            with console.status("device B: pulling, verifying, decrypting, merging"):
                pulled = await SyncEngine(device_b, keys_b, relay).pull()
            timings["B joins, pulls and applies"] = time.perf_counter() - mark
        relay_peak = _peak_rss_mb(relay_process.pid)
    finally:
        relay_process.terminate()
        relay_process.wait()
    holdings = await device_b.read(read_holdings, owner)
    await device_a.dispose()
    await device_b.dispose()
    _report(count, pushed.pushed_sets, pulled.applied_changes, len(holdings), timings, relay_peak)


def _report(  # noqa: PLR0917 - one figure per argument
    count: int, sets: int, applied: int, holdings: int, timings: dict[str, float], peak: float
) -> None:
    total = sum(timings.values())
    table = Table(title=f"{count:,} changes, device A -> relay (PostgreSQL) -> fresh device B; {sets} change sets")
    for column in ("measure", "figure", "goal (baseline)", "ratio"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for phase, seconds in timings.items():
        table.add_row(phase, f"{seconds:.1f} s", "", "")
    table.add_row("end to end", f"{total:.1f} s", "30 s", f"{total / 30:.2f}x")
    table.add_row("rate, end to end", f"{count / total:,.0f} changes/s", f"{count / 30:,.0f} changes/s", "")
    table.add_row("relay peak resident memory", f"{peak:.0f} MB", "300 MB", f"{peak / 300:.2f}x")
    table.add_row("changes applied on B", f"{applied:,}", f"{count:,}", "")
    table.add_row("holdings on B", f"{holdings:,}", "", "")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as name:
        folder = Path(name)
        import pgserver

        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
        try:
            asyncio.run(run(args.changes, folder, normalize_database_url(server.get_uri())))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
