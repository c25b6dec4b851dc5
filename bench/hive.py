"""Hive benchmark: ingest, bulk resolve of 1,000 ISINs against 100,000 assets, snapshots.

    python bench/hive.py                                 # 100,000 assets in a SQLite file
    python bench/hive.py --assets 20000                  # quicker
    python bench/hive.py --database-url postgresql+asyncpg://...   # a PostgreSQL hive

What it does, printing each figure:

1. **Ingest**: ``assets`` assets (name, class, currency, sector, country) contributed in
   batches of 1,000 through the service the API calls (checks, pseudonym, claims,
   consensus, version), by 100 contributors in turn; plus 1,000 fund compositions of 50
   constituents in batches of 20. Rate in assets (and compositions) per second.
2. **Bulk resolve**: 1,000 random known ISINs in one call of ``resolve_many`` (what
   ``POST /api/v1/hive/resolutions`` runs), 20 times; median and worst (goal: < 200 ms).
3. **Snapshot**: build + encode time and compressed size of the whole hive, and of the
   delta after one more batch of 1,000 assets.
   The same over HTTP: a real server on loopback, 20 round trips of ``POST
   /api/v1/hive/resolutions`` with the 1,000 ISINs (JSON encoding and decoding included).
4. **Private lookups**: a device (its own SQLite file) applies the full snapshot, then
   resolves the same 1,000 ISINs from its mirror; apply time, then resolve median.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import random
import socket
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from prism.api import create_app
from prism.config import DatabaseSettings, load_settings
from prism.domain.isin import is_valid_isin
from prism.hive.device import resolve_on_device
from prism.hive.service import contribute, resolve_many, snapshot_bytes
from prism.hive.snapshots import apply_snapshot, decode_snapshot
from prism.hive.wire import AssetIn, CompositionIn, ContributionIn, HoldingIn
from prism.migrations import open_upgraded

TODAY = dt.datetime.now(dt.UTC).date()
SECTORS = ["Technology", "Health Care", "Financials", "Industrials", "Energy", "Utilities"]
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "NL", "CH", "IE"]


def isins(count: int, prefix: str = "XS") -> list[str]:
    """``count`` distinct, well-formed ISINs."""
    found = []
    for number in range(count):
        body = f"{prefix}{number:09d}"
        found.append(next(body + str(d) for d in range(10) if is_valid_isin(body + str(d))))
    return found


def _asset(isin: str, n: int) -> AssetIn:
    return AssetIn(
        isin=isin,
        name=f"Company {n} AG",
        asset_class="Equity",
        base_currency="EUR" if n % 3 else "USD",
        sector=SECTORS[n % len(SECTORS)],
        country=COUNTRIES[n % len(COUNTRIES)],
    )


def _fund(fund: str, members: list[str]) -> CompositionIn:
    weight = "0.02"  # 50 constituents of 2%
    return CompositionIn(etf_isin=fund, as_of=TODAY, holdings=[HoldingIn(isin=i, weight=weight) for i in members])


async def run(count: int, database_url: str | None, workdir: Path) -> None:
    url = database_url or f"sqlite:///{workdir / 'hive.db'}"
    database = await open_upgraded(DatabaseSettings(url=url))
    known = isins(count)
    started = time.perf_counter()
    for start in range(0, count, 1000):
        batch = ContributionIn(assets=[_asset(i, start + n) for n, i in enumerate(known[start : start + 1000])])
        await contribute(database, batch, f"account:bench-{(start // 1000) % 100}", today=TODAY)
    ingest = time.perf_counter() - started
    print(f"ingest: {count:,} assets in {ingest:.1f} s = {count / ingest:,.0f} assets/s")
    funds = isins(1000, prefix="XF")
    rng = random.Random(7)
    started = time.perf_counter()
    for start in range(0, len(funds), 20):
        part = [_fund(f, rng.sample(known, 50)) for f in funds[start : start + 20]]
        await contribute(database, ContributionIn(compositions=part), "account:bench-funds", today=TODAY)
    fund_time = time.perf_counter() - started
    print(f"ingest: 1,000 compositions of 50 in {fund_time:.1f} s = {1000 / fund_time:,.0f} compositions/s")

    wanted = rng.sample(known, 1000)
    times = []
    for _ in range(20):
        started = time.perf_counter()
        out = await resolve_many(database, wanted, today=TODAY)
        times.append(time.perf_counter() - started)
        assert len(out.items) == 1000
    median, worst = statistics.median(times) * 1000, max(times) * 1000
    print(f"bulk resolve of 1,000 ISINs: median {median:.1f} ms, worst {worst:.1f} ms")

    started = time.perf_counter()
    version, body = await snapshot_bytes(database, 0)
    print(f"snapshot (v{version}): {len(body) / 1e6:.2f} MB compressed, built in {time.perf_counter() - started:.2f} s")
    extra = ContributionIn(assets=[_asset(i, n) for n, i in enumerate(isins(1000, prefix="XD"))])
    await contribute(database, extra, "account:bench-late", today=TODAY)
    started = time.perf_counter()
    _v, delta = await snapshot_bytes(database, version)
    print(f"delta after 1,000 more assets: {len(delta) / 1e3:.0f} kB, built in {time.perf_counter() - started:.3f} s")
    await database.dispose()
    _over_http(url, workdir, wanted)

    device = await open_upgraded(DatabaseSettings(url=f"sqlite:///{workdir / 'device.db'}"))
    snapshot = decode_snapshot(body)
    started = time.perf_counter()
    await device.write(apply_snapshot, snapshot, TODAY)
    print(f"device: snapshot applied in {time.perf_counter() - started:.1f} s")
    local = []
    for _ in range(10):
        started = time.perf_counter()
        found = await resolve_on_device(device, wanted)
        local.append(time.perf_counter() - started)
        assert len(found) == 1000
    print(f"device: 1,000 ISINs resolved offline from the mirror: median {statistics.median(local) * 1000:.1f} ms")
    await device.dispose()


def _over_http(url: str, workdir: Path, wanted: list[str]) -> None:
    """The same bulk resolve through a real server on loopback: HTTP, JSON and all."""
    settings = load_settings({}, data_dir=workdir / "server", database_url=url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    token = settings.token_path.read_text().strip()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(20):
            started = time.perf_counter()
            response = client.post("/api/v1/hive/resolutions", json={"isins": wanted})
            times.append(time.perf_counter() - started)
            assert response.status_code == 201, response.text
    server.should_exit = True
    thread.join(timeout=30)
    print(
        f"bulk resolve over HTTP (round trip, {len(response.content) / 1e3:.0f} kB of JSON): "
        f"median {statistics.median(times) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-hive-bench-") as folder:
        asyncio.run(run(arguments.assets, arguments.database_url, Path(folder)))


if __name__ == "__main__":
    main()
