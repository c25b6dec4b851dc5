"""Scale-out load test: many devices and API readers against hosted workers on one PostgreSQL.

    python bench/scale_out.py                                  # the issue's shape, 60 s
    python bench/scale_out.py --seconds 20 --accounts 20       # a quicker look

The topology is deploy/local_cluster.py's (pgserver's PostgreSQL, moto's S3 server, the
schema migrated once, ``--workers`` hosted workers behind a round-robin proxy, a dead
worker started again). On loopback only, bounded in time and count:

* ``--accounts`` relay accounts with ``--devices-per-account`` devices each (the first
  creates the account and its keyring, the others join with the join token), every device
  pushing a sealed change set of 1 to 50 changes every 1 to 5 s and long-polling for the
  others' sets;
* ``--readers`` API clients reading holdings from hosted ledgers (accounts signed up with a
  portfolio and a few transactions);
* after a third of the run, one worker is killed with SIGKILL; the cluster starts it again.

At the end every device pulls to the head, and the run checks that every acknowledged
set is present exactly once on every device of its account. A push that failed on a
connection (the killed worker) is sent again, as a device would; the relay files the same
set once. Printed: relayed changes/s and pushes/s, p50/p99 push latency (request), p50/p99
delivery latency (push sent -> another device's pull returns it), holdings p99, 5xx
answers, and CPU seconds of the workers and PostgreSQL per 1,000 changes. Goals (2-core
machine): at least 5,000 relayed changes/s (about 200 pushes/s), p99 push under 250 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
import nacl.signing
import nacl.utils
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.client.errors import ProblemError, RelayUnavailableError, ServerError
from prism.client.relay import RelayClient, RelayIdentity
from prism.sync.codec import ChangeSetHeader, WireChange, seal
from prism.sync.keys import join_verifier

console = Console()
T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery"


@dataclass
class Figures:
    """What the run saw."""

    pushes: list[float] = field(default_factory=list)  # ms
    deliveries: list[float] = field(default_factory=list)  # ms
    holdings: list[float] = field(default_factory=list)  # ms
    changes: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    generator_cpu: float = 0.0  # CPU seconds of this process during the load
    sent_at: dict[uuid.UUID, float] = field(default_factory=dict)


@dataclass
class Device:
    """One simulated device: its identity, what it pushed, what it received."""

    account: uuid.UUID
    device_id: str
    key: nacl.signing.SigningKey
    relay: RelayClient
    acked: dict[int, uuid.UUID] = field(default_factory=dict)  # seq -> set id
    received: dict[int, int] = field(default_factory=lambda: defaultdict(int))  # seq -> times
    cursor: int = 0
    device_seq: int = 0


def _percentile(samples: list[float], share: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def start_cluster(workers: int, folder: Path) -> tuple[subprocess.Popen[bytes], dict[str, object]]:
    """deploy/local_cluster.py on a free port; its announcement."""
    ready = folder / "ready.json"
    command = [sys.executable, str(ROOT / "deploy" / "local_cluster.py"), "--workers", str(workers), "--port", "0"]
    # Every simulated device comes from one loopback address: lift the per-address limit.
    # and the readers share tokens: no per-token rate limit either.
    env = {**os.environ, "PRISM_RELAY_ACCOUNTS_PER_HOUR": "100000", "PRISM_RATE_LIMIT_PER_MINUTE": "0"}
    process = subprocess.Popen(
        [*command, "--dir", str(folder / "run"), "--ready-file", str(ready)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.monotonic() + 180
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("the cluster did not come up")
        time.sleep(0.2)
    return process, json.loads(ready.read_text())


async def make_devices(url: str, devices: int) -> list[Device]:
    """One account and its devices, ready to push."""
    token = nacl.utils.random(32)
    keys = [nacl.signing.SigningKey.generate() for _ in range(devices)]
    ids = [os.urandom(8).hex() for _ in range(devices)]
    first = RelayClient(url, timeout=60)
    account = await first.create_account(ids[0], keys[0].verify_key)
    first.identity = RelayIdentity(account, ids[0], keys[0])
    await first.put_keyring(kdf={}, join_verifier=join_verifier(token), recovery_verifier=None, account_card=b"card")
    found = [Device(account, ids[0], keys[0], first)]
    for device_id, key in zip(ids[1:], keys[1:], strict=True):
        relay = RelayClient(url, timeout=60)
        await relay.join(account, device_id, key.verify_key, token)
        relay.identity = RelayIdentity(account, device_id, key)
        found.append(Device(account, device_id, key, relay))
    return found


async def _attempt_call(figures: Figures, call: Awaitable[T]) -> T | None:
    """``call``'s answer, or None after counting its failure and pausing (the device retries)."""
    try:
        return await call
    except ServerError:
        figures.server_errors += 1
    except RelayUnavailableError:
        figures.transport_errors += 1
    except ProblemError as error:
        console.print(f"refused: {error}")
    await asyncio.sleep(0.5)
    return None


async def push_loop(device: Device, data_key: bytes, figures: Figures, until: float) -> None:
    """Push a set of 1 to 50 changes every 1 to 5 s; resend on a connection failure."""
    rng = random.Random(device.device_id)
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(1, 5))
        device.device_seq += 1
        set_id = uuid.uuid4()
        header = ChangeSetHeader(1, device.account, device.device_id, "k", "0009", device.device_seq, set_id)
        count = rng.randint(1, 50)
        changes = [
            WireChange(device.device_seq * 100 + n, device.device_id, "notes", str(uuid.uuid4()), "update", {"b": "x"})
            for n in range(count)
        ]
        body = seal(header, changes, data_key=data_key, signing_key=device.key)
        for _attempt in range(20):
            sent = time.perf_counter()
            seq = await _attempt_call(figures, device.relay.push(body))
            if seq is None:
                continue
            figures.pushes.append((time.perf_counter() - sent) * 1000)
            figures.sent_at[set_id] = sent
            device.acked[seq] = set_id
            figures.changes += count
            break


async def pull_loop(device: Device, figures: Figures, until: float, ids: dict[int, uuid.UUID]) -> None:
    """Long-poll for new sets; note when each arrives."""
    while time.monotonic() < until:
        wait = min(25.0, max(0.1, until - time.monotonic()))
        page = await _attempt_call(figures, device.relay.pull(device.cursor, wait=wait))
        if page is None:
            continue
        now = time.perf_counter()
        for item in page.items:
            device.received[item.seq] += 1
            device.cursor = max(device.cursor, item.seq)
            set_id = ids.get(item.seq)
            if set_id is not None and set_id in figures.sent_at:
                figures.deliveries.append((now - figures.sent_at[set_id]) * 1000)


async def catch_up(device: Device) -> None:
    """Pull to the head without waiting."""
    while True:
        page = await device.relay.pull(device.cursor)
        for item in page.items:
            device.received[item.seq] += 1
            device.cursor = max(device.cursor, item.seq)
        if not page.items or device.cursor >= page.head:
            return


async def make_reader_accounts(url: str, count: int) -> list[dict[str, str]]:
    """Hosted accounts with a portfolio and a few transactions; their auth headers."""
    found = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for n in range(count):
            email = f"reader-{n}-{uuid.uuid4().hex[:6]}@example.org"
            answer = await client.post(
                "/api/v1/auth/signup", json={"email": email, "password": "correct horse battery"}
            )
            headers = {"Authorization": f"Bearer {answer.json()['token']}"}
            made = await client.post(
                "/api/v1/portfolios", json={"name": "Main", "base_currency": "EUR"}, headers=headers
            )
            portfolio = made.json()["id"]
            deposit = {
                "portfolio_id": portfolio,
                "type": "deposit",
                "date": "2024-01-02",
                "amount": "10000",
                "currency": "EUR",
            }
            await client.post("/api/v1/transactions", json=deposit, headers=headers)
            found.append(headers)
    return found


async def reader_loop(url: str, headers: dict[str, str], figures: Figures, until: float) -> None:
    """Read holdings again and again."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                answer = await client.get("/api/v1/holdings", headers=headers)
            except httpx.TransportError:
                figures.transport_errors += 1
                await asyncio.sleep(0.5)
                continue
            figures.server_errors += answer.status_code >= 500
            figures.holdings.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.2)


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks
    return total


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
    return found


async def run(url: str, cluster: dict[str, object], args: argparse.Namespace) -> tuple[Figures, float, float, bool]:
    """The load, the kill, the check; (figures, seconds, cpu seconds, all sets exactly once)."""
    accounts = [await make_devices(url, args.devices_per_account) for _ in range(args.accounts)]
    readers = await make_reader_accounts(url, max(1, args.readers // 5))
    data_keys = [nacl.utils.random(32) for _ in accounts]
    workers = [int(w["pid"]) for w in cluster["workers"]]  # type: ignore[index, union-attr]
    cpu_before = _cpu_seconds(workers + _postgres_pids())
    figures = Figures()
    figures.generator_cpu = -time.process_time()
    started = time.monotonic()
    until = started + args.seconds
    ids: dict[int, uuid.UUID] = {}

    async def killer() -> None:
        await asyncio.sleep(args.seconds / 3)
        os.kill(workers[0], signal.SIGKILL)

    async def index() -> None:  # seq -> set id, for delivery latency
        while time.monotonic() < until:
            for devices in accounts:
                for device in devices:
                    ids.update(device.acked)
            await asyncio.sleep(0.05)

    tasks = [asyncio.create_task(killer()), asyncio.create_task(index())]
    for devices, key in zip(accounts, data_keys, strict=True):
        for device in devices:
            tasks.append(asyncio.create_task(push_loop(device, key, figures, until)))
            tasks.append(asyncio.create_task(pull_loop(device, figures, until, ids)))
    for n in range(args.readers):
        tasks.append(asyncio.create_task(reader_loop(url, readers[n % len(readers)], figures, until)))
    await asyncio.gather(*tasks)
    figures.generator_cpu += time.process_time()
    elapsed = time.monotonic() - started
    cpu = _cpu_seconds(workers[1:] + _postgres_pids()) - cpu_before  # the killed worker's CPU is lost
    exact = True
    for devices in accounts:
        for device in devices:
            await catch_up(device)
        acked = {seq for device in devices for seq in device.acked}
        for device in devices:
            exact &= all(device.received.get(seq) == 1 for seq in acked)
            exact &= all(times == 1 for times in device.received.values())
        for device in devices:
            await device.relay.aclose()
    return figures, elapsed, cpu, exact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--devices-per-account", type=int, default=5)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="prism-scale-"))
    with console.status(f"starting {args.workers} workers, PostgreSQL and S3"):
        process, cluster = start_cluster(args.workers, folder)
    try:
        with console.status(f"{args.accounts * args.devices_per_account} devices, {args.readers} readers"):
            figures, elapsed, cpu, exact = asyncio.run(run(str(cluster["url"]), cluster, args))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    pushes = len(figures.pushes)
    table = Table(
        title=f"Scale-out: {args.workers} workers, {args.accounts * args.devices_per_account} devices, "
        f"{args.readers} readers, {elapsed:.0f} s, one worker killed"
    )
    for name in ("measure", "figure", "goal"):
        table.add_column(name, justify="left" if name == "measure" else "right")
    rate = figures.changes / elapsed
    table.add_row("relayed changes/s", f"{rate:,.0f}", f">= 5,000: {'met' if rate >= 5000 else 'missed'}")
    table.add_row("pushes/s", f"{pushes / elapsed:,.1f}", "about 200")
    p99 = _percentile(figures.pushes, 0.99)
    table.add_row(
        "push p50 / p99",
        f"{statistics.median(figures.pushes):.0f} / {p99:.0f} ms",
        f"p99 < 250 ms: {'met' if p99 < 250 else 'missed'}",
    )
    table.add_row(
        "delivery p50 / p99",
        f"{statistics.median(figures.deliveries):.0f} / {_percentile(figures.deliveries, 0.99):.0f} ms",
        "",
    )
    table.add_row(
        "holdings p50 / p99",
        f"{statistics.median(figures.holdings):.0f} / {_percentile(figures.holdings, 0.99):.0f} ms",
        "",
    )
    table.add_row("5xx answers", f"{figures.server_errors}", "0")
    table.add_row("connection failures (retried)", f"{figures.transport_errors}", "only in the kill window")
    table.add_row("CPU s per 1,000 changes (workers + PostgreSQL)", f"{cpu / max(1, figures.changes) * 1000:.2f}", "")
    per_thousand = figures.generator_cpu / max(1, figures.changes) * 1000
    table.add_row("CPU s per 1,000 changes (this load generator)", f"{per_thousand:.2f}", "")
    table.add_row("every acknowledged set exactly once on every device", "yes" if exact else "NO", "yes")
    console.print(table)
    console.print(
        f"command: python bench/scale_out.py --seconds {args.seconds:g} --accounts {args.accounts} "
        f"--devices-per-account {args.devices_per_account} --readers {args.readers} --workers {args.workers}"
    )


if __name__ == "__main__":
    main()
