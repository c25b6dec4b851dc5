"""Fast bootstrap: a fresh device from a snapshot plus the tail, against replaying every change.

    python bench/bootstrap.py                          # 100,000 transactions, 1,000,000 changes
    python bench/bootstrap.py --transactions 20000     # a quicker look

Device A (SQLite) holds ``--transactions`` buys and sells across 1,000 assets, each
logged as an insert followed by ``--edits`` updates of its price, fee or tax, exactly
as local edits log them: ``transactions * (1 + edits)`` changes. A relay runs as its own
``prism serve --mode hosted`` process on a throwaway PostgreSQL (pgserver). A pushes
its history; device B joins and replays every change (the baseline); A uploads a
snapshot and the relay compacts; A logs a tail of 1,000 more edits; device C joins
and bootstraps from the snapshot plus the tail. Prints both times, their ratio, the
snapshot's size and the relay's storage before and after compaction.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from rich.table import Table
from sqlalchemy import Connection, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.sync_e2e import FAST_KDF, PASSPHRASE, _device_a, _start_relay, console
from prism.client.relay import RelayClient, RelayStorageEntry
from prism.config import DatabaseSettings, normalize_database_url
from prism.migrations import upgrade
from prism.storage.engine import Database, open_database
from prism.storage.holdings import read_holdings
from prism.storage.tables import changes, clock_states
from prism.sync.engine import SyncEngine
from prism.sync.enrol import create_sync_account, join_sync_account
from prism.sync.link import device_id_of

EDITED = ("price", "fee", "tax")


async def _edits(database: Database, owner: uuid.UUID, count: int, *, seed: int) -> int:
    """``count`` update changes of random logged transactions, after the device's clock."""

    def ids_and_clock(connection: Connection) -> tuple[list[str], int, str]:
        inserted = select(changes.c.row_id).where(changes.c.op == "insert", changes.c.table_name == "transactions")
        last = connection.scalar(select(clock_states.c.last_hlc).where(clock_states.c.owner_id == owner))
        return list(connection.scalars(inserted)), int(last or 0), device_id_of(connection, owner)

    row_ids, last, device = await database.read(ids_and_clock)
    rng = random.Random(seed)
    hlc = last
    for start in range(0, count, 50_000):
        batch = []
        for _ in range(min(50_000, count - start)):
            hlc += 1
            column = rng.choice(EDITED)
            value = str(Decimal(rng.randrange(0, 50000)) / 100)
            batch.append(
                {"owner_id": owner, "hlc": hlc, "device_id": device, "table_name": "transactions",
                 "row_id": rng.choice(row_ids), "op": "update", "columns": {column: value}}
            )  # fmt: skip
        await database.write(lambda c, rows=batch: c.execute(changes.insert(), rows))
    top = hlc
    await database.write(
        lambda c: c.execute(update(clock_states).where(clock_states.c.owner_id == owner).values(last_hlc=top))
    )
    return count


def _mb(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _storage(entry: RelayStorageEntry) -> str:
    return (
        f"{entry.sets:,} sets {_mb(entry.set_bytes)} + {entry.snapshot_chunks} chunks {_mb(entry.snapshot_bytes)}"
        f" = {_mb(entry.set_bytes + entry.snapshot_bytes)}"
    )


async def run(transactions: int, edits: int, folder: Path, pg_url: str) -> None:
    devices = {
        name: open_database(DatabaseSettings(url=f"sqlite:///{folder / f'{name}.db'}", synchronous="NORMAL"))
        for name in "abc"
    }
    for device in devices.values():
        await upgrade(device)
    a, b, c = devices["a"], devices["b"], devices["c"]
    owner = await _device_a(a, transactions)
    await _edits(a, owner, transactions * edits, seed=1)
    total = transactions * (1 + edits)
    relay_process, relay_url = _start_relay(pg_url, folder)
    figures: dict[str, str] = {}
    try:
        # One client per device: an engine signs its client's requests as its device.
        async with (
            RelayClient(relay_url) as relay,
            RelayClient(relay_url) as relay_b,
            RelayClient(relay_url) as relay_c,
        ):
            created = await create_sync_account(
                a, relay, relay_url=relay_url, passphrase=PASSPHRASE, settings=FAST_KDF, keys_path=folder / "a.keys"
            )
            keys_a = created.keys
            engine_a = SyncEngine(a, keys_a, relay)
            with console.status(f"A seals and pushes {total:,} changes"):
                await engine_a.push()
            keys_b = await join_sync_account(
                b, relay_b, relay_url=relay_url, account_id=keys_a.account_id, passphrase=PASSPHRASE,
                keys_path=folder / "b.keys",
            )  # fmt: skip
            with console.status("B replays every change"):
                started = time.perf_counter()
                replayed = await SyncEngine(b, keys_b, relay_b).pull()
                replay = time.perf_counter() - started
            before = await relay.storage()
            with console.status("A uploads a snapshot; the relay compacts"):
                started = time.perf_counter()
                snapshot = await engine_a.upload_snapshot()
                figures["A takes, seals and uploads the snapshot"] = f"{time.perf_counter() - started:.1f} s"
            after = await relay.storage()
            await _edits(a, owner, 1000, seed=2)  # the tail after the snapshot
            await engine_a.push()
            keys_c = await join_sync_account(
                c, relay_c, relay_url=relay_url, account_id=keys_a.account_id, passphrase=PASSPHRASE,
                keys_path=folder / "c.keys",
            )  # fmt: skip
            with console.status("C bootstraps from the snapshot and the tail"):
                started = time.perf_counter()
                booted = await SyncEngine(c, keys_c, relay_c).pull()
                bootstrap = time.perf_counter() - started
            await SyncEngine(b, keys_b, relay_b).pull()
    finally:
        relay_process.terminate()
        relay_process.wait()
    same = await b.read(read_holdings, owner) == await c.read(read_holdings, owner)
    holdings = len(await c.read(read_holdings, owner))
    for device in devices.values():
        await device.dispose()
    table = Table(title=f"{transactions:,} transactions, {total:,} changes; relay on PostgreSQL")
    table.add_column("measure")
    table.add_column("figure", justify="right")
    table.add_row("B: replay every change", f"{replay:.1f} s ({replayed.applied_changes:,} changes)")
    table.add_row(
        "C: snapshot + tail",
        f"{bootstrap:.1f} s ({booted.restored_changes:,} from the snapshot, {booted.applied_changes:,} tail)",
    )
    table.add_row("ratio replay / bootstrap", f"{replay / bootstrap:.1f}x")
    table.add_row("goal: bootstrap under 5 s", "met" if bootstrap < 5 else "missed")
    table.add_row("snapshot", f"{snapshot.chunks} chunks, {_mb(snapshot.sealed_bytes)}, covers {snapshot.covers_seq}")
    table.add_row("relay before compaction", _storage(before))
    table.add_row("relay after compaction", _storage(after))
    table.add_row("sets dropped", f"{snapshot.dropped_sets:,}")
    for name, figure in figures.items():
        table.add_row(name, figure)
    table.add_row("B and C hold the same holdings", f"{same} ({holdings:,} positions)")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--edits", type=int, default=9, help="updates logged per transaction")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as name:
        folder = Path(name)
        import pgserver

        server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
        try:
            asyncio.run(run(args.transactions, args.edits, folder, normalize_database_url(server.get_uri())))
        finally:
            server.cleanup()


if __name__ == "__main__":
    main()
