"""Look-through exposure benchmark: the service against the domain's Python reference.

    python bench/exposure.py                  # 1,000 held assets, 50 ETFs of up to 3,000 constituents
    python bench/exposure.py --runs 9         # more runs per median

A synthetic market is built in a temporary folder lake: 20,000 securities, 50 ETFs
of 500 to 3,000 constituents (weights summing to 0.97-1.0), a dozen of them holding
one to three other ETFs (funds of funds, one cycle among them), closes for every held
asset, and a portfolio of the 50 ETFs plus 950 stocks. The same market is written to
a lake on S3 (moto's server, started here on loopback).

Timed (median of ``--runs``), by security, on the folder and on S3:

* warm: the whole lake side of an exposure request (closes, rates, the cached
  flattened compositions, the grouping in DuckDB, the report) — the steady state the
  speed goal (< 100 ms) is about;
* cold: the first such request after a compositions import (one fund's composition
  written again, so the dataset's version changes): it reads and flattens every
  composition in force before answering;
* overlap, warm: the overlap report of the same portfolio;
* reference: ``look_through`` + ``group_exposure`` over the same holdings and
  compositions, already in memory as Python objects.

The service's groups are checked against the reference's (to the cent) before any
figure is printed: a ratio against a different answer would mean nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from prism.analytics.exposure import ExposureReport, HeldAsset, OverlapReport, _exposure_in_lake, _overlap_in_lake
from prism.config import LakeSettings
from prism.domain.exposure import Constituent, Security, group_exposure, look_through
from prism.storage.lake import ETF_HOLDINGS, PRICES, Lake, open_lake, write_rows

DAY = dt.date(2024, 6, 28)
GOAL_MS = 100.0
COUNTRIES = ["US", "DE", "FR", "GB", "JP", "CN", "IE", "NL", "CH", "CA", None]
SECTORS = ["Technology", "Health Care", "Financials", "Industrials", "Energy", "Utilities", "", None]
CURRENCIES = ["USD", "EUR", "GBP", "JPY", "CHF"]


def _isin(prefix: str, number: int) -> str:
    return f"{prefix}{number:010d}"


def build_market(rng: random.Random) -> tuple[dict[str, list[Constituent]], list[tuple[Security, Decimal]]]:
    """Compositions by fund and the held securities with their values (in EUR)."""
    universe = [
        Security(
            _isin("XS", n),
            country=rng.choice(COUNTRIES),
            sector=rng.choice(SECTORS),
            currency=rng.choice(CURRENCIES),
            asset_class="Equity",
        )
        for n in range(20_000)
    ]
    funds = [_isin("IE", n) for n in range(50)]
    compositions: dict[str, list[Constituent]] = {}
    for index, fund in enumerate(funds):
        size = rng.randint(500, 3_000)
        picked = rng.sample(universe, size)
        nested: list[Security] = []
        if index < 12:  # funds of funds: each holds later funds (acyclic) ...
            nested = [Security(f) for f in rng.sample(funds[index + 1 :], rng.randint(1, 3))]
        if index == 49:  # ... and one cycle, back to the first
            nested = [Security(funds[0])]
        raw = [rng.randint(1, 10_000) for _ in range(size + len(nested))]
        scale = Decimal(rng.randint(970, 1000)) / 1000 / sum(raw)
        weights = [(Decimal(r) * scale).quantize(Decimal("1e-12")) for r in raw]
        members = [*picked, *nested]
        compositions[fund] = [Constituent(s, w) for s, w in zip(members, weights, strict=True)]
    stocks = rng.sample(universe, 950)
    held = [(Security(f), Decimal(rng.randint(1_000, 50_000))) for f in funds]
    held += [(s, Decimal(rng.randint(100, 20_000))) for s in stocks]
    return compositions, sorted(held, key=lambda h: h[0].key)


def _composition_rows(compositions: dict[str, list[Constituent]]) -> pa.Table:
    rows = [(fund, part) for fund, parts in compositions.items() for part in parts]
    return pa.table(
        {
            "fund_isin": [fund for fund, _ in rows],
            "as_of": [DAY] * len(rows),
            "constituent_isin": [p.security.key for _, p in rows],
            "constituent_name": [f"Name of {p.security.key}" for _, p in rows],
            "weight": pa.array([p.weight for _, p in rows], pa.decimal128(38, 12)),
            "country": [p.security.country for _, p in rows],
            "sector": [p.security.sector for _, p in rows],
            "currency": [p.security.currency for _, p in rows],
            "asset_class": [p.security.asset_class for _, p in rows],
        }
    )


def fill_lake(lake: Lake, compositions: dict[str, list[Constituent]], held: list[tuple[Security, Decimal]]) -> None:
    write_rows(lake, ETF_HOLDINGS, _composition_rows(compositions))
    # One unit of each held asset closes at its value, in EUR: quantity 1 values it exactly.
    write_rows(
        lake,
        PRICES,
        pa.table(
            {
                "isin": [s.key for s, _ in held],
                "date": [DAY] * len(held),
                "close": pa.array([v for _, v in held], pa.decimal128(38, 10)),
                "currency": ["EUR"] * len(held),
            }
        ),
    )


def held_assets(held: list[tuple[Security, Decimal]]) -> list[HeldAsset]:
    return [
        HeldAsset(uuid.uuid4(), s.key, s.key, s.currency or "EUR", Decimal(1), s.country, s.sector, s.asset_class)
        for s, _ in held
    ]


def median_ms(work: Callable[[], Any], runs: int) -> tuple[float, Any]:
    result = work()  # warm-up (DuckDB's first query plans, S3 connection set-up)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def reimported(lake: Lake, compositions: dict[str, list[Constituent]]) -> Callable[[], None]:
    """An import of one fund's composition, unchanged: a new version of the dataset."""
    one = _composition_rows({"IE0000000007": compositions["IE0000000007"]})

    def write() -> None:
        write_rows(lake, ETF_HOLDINGS, one)

    return write


def cold_ms(work: Callable[[], Any], before: Callable[[], None], runs: int) -> float:
    """Median of ``work`` run once after each ``before`` (not timed)."""
    times = []
    for _ in range(runs):
        before()
        start = time.perf_counter()
        work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def as_expected(report: ExposureReport, expected: dict[str, Decimal]) -> bool:
    cents = Decimal("0.01")
    found = {g.key: g.value for g in report.groups}
    found["unresolved"] = report.unresolved_value
    return found == {key: value.quantize(cents) for key, value in expected.items()}


def s3_lake(endpoint: str) -> Lake:
    import boto3

    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench", aws_secret_access_key="bench"
    ).create_bucket(Bucket=bucket)
    return open_lake(
        LakeSettings(
            url=f"s3://{bucket}/prism", s3_endpoint=endpoint, s3_access_key_id="bench", s3_secret_access_key="bench"
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    compositions, held = build_market(random.Random(args.seed))
    constituents = sum(len(parts) for parts in compositions.values())
    load_before = os.getloadavg()[0]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    assets = held_assets(held)
    timed: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        lakes = {
            "folder": open_lake(LakeSettings(url=str(Path(folder) / "lake"))),
            "S3 (moto)": s3_lake(f"http://127.0.0.1:{port}"),
        }
        try:
            for lake in lakes.values():
                fill_lake(lake, compositions, held)
            reference_ms, expected = median_ms(
                lambda: group_exposure(look_through(held, compositions), "security"), max(3, args.runs // 2)
            )
            for kind, lake in lakes.items():

                def request(lake: Lake = lake) -> ExposureReport:
                    return _exposure_in_lake(lake, assets, "EUR", "security", DAY)

                def overlap(lake: Lake = lake) -> OverlapReport:
                    return _overlap_in_lake(lake, assets, "EUR", DAY, 100)

                if not as_expected(request(), expected):
                    print(f"the service's look-through differs from the domain's ({kind})", file=sys.stderr)
                    return 1
                timed[kind] = {
                    "cold": cold_ms(request, reimported(lake, compositions), max(3, args.runs // 2)),
                    "warm": median_ms(request, args.runs)[0],
                    "overlap": median_ms(overlap, args.runs)[0],
                }
        finally:
            for lake in lakes.values():
                lake.close()
            server.stop()
    load_after = os.getloadavg()[0]
    print(f"{len(held)} held assets, {len(compositions)} ETFs, {constituents} composition lines")
    print(f"{len(expected) - 1} securities after look-through; the service equals the reference to the cent")
    print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores")
    print()
    print(f"reference: domain look_through + group_exposure (Python, in memory): {reference_ms:.1f} ms")
    print()
    print(f"{'median of runs':<42}{'lake':<12}{'ms':>9}{'reference / it':>16}   goal")
    rows = [
        ("exposure, cache warm (steady state)", "warm", f"< {GOAL_MS:.0f} ms"),
        ("exposure, first call after an import", "cold", ""),
        ("overlap, cache warm", "overlap", ""),
    ]
    for label, name, goal in rows:
        for kind, found in timed.items():
            figure = found[name]
            verdict = f"{goal}: {'met' if figure < GOAL_MS else 'missed'}" if goal else ""
            print(f"{label:<42}{kind:<12}{figure:>9.1f}{reference_ms / figure:>15.1f}x   {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
