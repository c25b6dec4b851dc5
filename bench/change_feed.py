"""Change-feed latency: from a write through the API to a held ``GET /changes`` returning it.

    python bench/change_feed.py              # 300 writes per shape
    python bench/change_feed.py --writes 1000

Two shapes, each its own ``prism serve --mode hosted`` process(es), one account:

* one process on a SQLite file: the waiter watches ``PRAGMA data_version``;
* two replicas on one throwaway PostgreSQL (pgserver): the write goes to replica 1,
  the feed is held by replica 2 and woken by the change log's NOTIFY trigger.

Each write is a setting (``PUT /api/v1/settings/bench.N``): its latency is measured
from sending it to the held feed request returning it (goals: p50 under 10 ms, p99
under 50 ms), beside the write's own round trip as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from server_shapes import each_shape

console = Console()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    # Rate limits off: the benchmark makes more than 600 requests a minute with one token.
    env = {**os.environ, "PRISM_DATA_DIR": str(folder), "PRISM_RATE_LIMIT_PER_MINUTE": "0"}
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
    raise SystemExit("the server did not start")


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def measure(write_url: str, feed_url: str, writes: int) -> tuple[list[float], list[float]]:
    """(write -> feed latencies, write round trips) in milliseconds."""
    async with httpx.AsyncClient(base_url=write_url, timeout=60) as writer:
        signed = await writer.post(
            "/api/v1/auth/signup", json={"email": "bench@example.org", "password": "a long bench password"}
        )
        signed.raise_for_status()
        headers = {"Authorization": f"Bearer {signed.json()['token']}"}
        writer.headers.update(headers)
        async with httpx.AsyncClient(base_url=feed_url, timeout=60, headers=headers) as reader:
            start = await reader.get("/api/v1/changes", params={"after": "latest"})
            cursor = start.json()["next_cursor"]
            arrived: asyncio.Queue[tuple[str, float]] = asyncio.Queue()

            async def follow() -> None:
                nonlocal cursor
                while True:
                    page = await reader.get("/api/v1/changes", params={"after": cursor, "wait": "30"})
                    now = time.perf_counter()
                    body = page.json()
                    for item in body["items"]:
                        await arrived.put((item["row_id"], now))
                    cursor = body["next_cursor"]

            following = asyncio.create_task(follow())
            latencies, round_trips = [], []
            for n in range(writes):
                await asyncio.sleep(0.01)  # the feed request is held again
                key = f"bench.{n}"
                sent = time.perf_counter()
                written = await writer.put(f"/api/v1/settings/{key}", json={"type": "int", "value": n})
                round_trips.append((time.perf_counter() - sent) * 1000)
                written.raise_for_status()
                row, when = await asyncio.wait_for(arrived.get(), timeout=30)
                assert row == key, (row, key)
                latencies.append((when - sent) * 1000)
            following.cancel()
    return latencies, round_trips


def _row(table: Table, shape: str, latencies: list[float], round_trips: list[float]) -> None:
    p50, p99 = statistics.median(latencies), _percentile(latencies, 0.99)
    table.add_row(shape, f"{p50:.1f} ms", f"{p99:.1f} ms", f"{statistics.median(round_trips):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    table = Table(title=f"write -> held change feed returns, {args.writes} writes (goals: p50 < 10 ms, p99 < 50 ms)")
    for column in ("server", "latency p50", "latency p99", "the write's round trip p50 (baseline)"):
        table.add_column(column, justify="left" if column == "server" else "right")
    with tempfile.TemporaryDirectory(prefix="prism-bench-") as name:
        for shape, first, second in each_shape(Path(name), _start):
            _row(table, shape, *asyncio.run(measure(first, second, args.writes)))
    console.print(table)


if __name__ == "__main__":
    main()
