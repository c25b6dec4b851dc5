"""Long-poll wake-up: from one device's push to the other device's held pull returning.

    python bench/longpoll.py                # 500 pushes per relay shape
    python bench/longpoll.py --pushes 2000

Two relay shapes, each its own ``prism serve --mode hosted`` process(es):

* one relay process on a SQLite file (a household relay): the push wakes the pull in-process;
* two relay replicas on one throwaway PostgreSQL (pgserver): the push goes to replica 1,
  the pull is held by replica 2 and woken by LISTEN/NOTIFY.

The latency of each push is measured from sending it to the held pull returning with
it (goals: p50 under 10 ms, p99 under 50 ms), beside a bare round trip
(``GET /healthz``) to the same relay as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import nacl.signing
import nacl.utils
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_shapes import each_shape
from sync_e2e import _start_relay

from prism.client.relay import RelayClient, RelayIdentity
from prism.sync.codec import ChangeSetHeader, WireChange, seal

console = Console()
DEVICE = "0011223344556677"


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def measure(push_url: str, pull_url: str, pushes: int) -> tuple[list[float], list[float]]:
    key = nacl.signing.SigningKey.generate()
    data_key = nacl.utils.random(32)
    async with RelayClient(push_url) as pusher, RelayClient(pull_url) as puller:
        account = await pusher.create_account(DEVICE, key.verify_key)
        pusher.identity = puller.identity = RelayIdentity(account, DEVICE, key)
        arrived: asyncio.Queue[tuple[int, float]] = asyncio.Queue()

        async def keep_pulling() -> None:
            cursor = 0
            while True:
                page = await puller.pull(cursor, wait=30)
                now = time.perf_counter()
                for item in page.items:
                    await arrived.put((item.seq, now))
                    cursor = item.seq

        pulling = asyncio.create_task(keep_pulling())
        wakeups = []
        for seq in range(1, pushes + 1):
            await asyncio.sleep(0.01)  # the pull is held again
            header = ChangeSetHeader(1, account, DEVICE, "k", "0009", seq, uuid.uuid4())
            change = WireChange(seq, DEVICE, "notes", str(uuid.uuid4()), "update", {"body": "x"})
            body = seal(header, [change], data_key=data_key, signing_key=key)
            sent = time.perf_counter()
            await pusher.push(body)
            got, when = await arrived.get()
            assert got == seq
            wakeups.append((when - sent) * 1000)
        pulling.cancel()
    round_trips = []
    async with httpx.AsyncClient(base_url=pull_url) as bare:
        for _ in range(pushes):
            started = time.perf_counter()
            (await bare.get("/healthz")).raise_for_status()
            round_trips.append((time.perf_counter() - started) * 1000)
    return wakeups, round_trips


def _row(table: Table, shape: str, wakeups: list[float], round_trips: list[float]) -> None:
    p50, p99 = statistics.median(wakeups), _percentile(wakeups, 0.99)
    base = statistics.median(round_trips)
    table.add_row(shape, f"{p50:.1f} ms", f"{p99:.1f} ms", f"{base:.1f} ms", f"{p50 / base:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=500)
    args = parser.parse_args()
    table = Table(title=f"push -> held pull returns, {args.pushes} pushes (goals: p50 < 10 ms, p99 < 50 ms)")
    for column in ("relay", "wake-up p50", "wake-up p99", "bare round trip p50 (baseline)", "ratio"):
        table.add_column(column, justify="left" if column == "relay" else "right")
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as name:
        for shape, first, second in each_shape(Path(name), _start_relay):
            _row(table, shape, *asyncio.run(measure(first, second, args.pushes)))
    console.print(table)


if __name__ == "__main__":
    main()
