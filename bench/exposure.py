"""Look-through exposure benchmark: the DuckDB walk against the domain's Python reference.

    python bench/exposure.py                  # 1,000 held assets, 50 ETFs of up to 3,000 constituents
    python bench/exposure.py --runs 9         # more runs per median

A synthetic market is built in a temporary folder lake: 20,000 securities, 50 ETFs
of 500 to 3,000 constituents (weights summing to 0.97-1.0), a dozen of them holding
one to three other ETFs (funds of funds, one cycle among them), closes for every held
asset, and a portfolio of the 50 ETFs plus 950 stocks. The same market is written to
a lake on S3 (moto's server, started here on loopback).

Timed (median of ``--runs``), by security:

* SQL walk: compositions read from the lake into a cursor, the recursive walk and the
  grouping (``group_exposure_sql``) — what the speed goal is about;
* service: the whole lake side of an exposure request (closes, rates, compositions,
  walk, report), on the folder and on S3;
* domain: ``look_through`` + ``group_exposure`` over the same holdings and
  compositions, already in memory as Python objects.

The SQL groups are checked against the domain's (to the cent) before any figure is
printed: a ratio against a different answer would mean nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
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

from prism.analytics.exposure import HeldAsset, _exposure_in_lake, _load_compositions
from prism.analytics.look_through import group_exposure_sql, held_table
from prism.config import LakeSettings
from prism.domain.exposure import Constituent, Security, group_exposure, look_through
from prism.storage.lake import ETF_HOLDINGS, PRICES, Lake, open_lake, write_rows

DAY = dt.date(2024, 6, 28)
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


def sql_walk(lake: Lake, held: list[tuple[Security, Decimal]]) -> Callable[[], dict[str, Decimal]]:
    relation = held_table(held)

    def run() -> dict[str, Decimal]:
        cursor = lake.cursor()
        try:
            cursor.register("held", relation)
            _load_compositions(lake, cursor, DAY)
            grouped = group_exposure_sql(cursor, "security")
        finally:
            cursor.close()
        found = {g.label: g.value for g in grouped.groups}
        found["unresolved"] = grouped.unresolved
        return found

    return run


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
    print(f"{len(held)} held assets, {len(compositions)} ETFs, {constituents} composition lines")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with tempfile.TemporaryDirectory() as folder:
        local = open_lake(LakeSettings(url=str(Path(folder) / "lake")))
        remote = s3_lake(f"http://127.0.0.1:{port}")
        try:
            for lake in (local, remote):
                fill_lake(lake, compositions, held)
            domain_ms, expected = median_ms(
                lambda: group_exposure(look_through(held, compositions), "security"), max(3, args.runs // 2)
            )
            walk_ms, found = median_ms(sql_walk(local, held), args.runs)
            cents = Decimal("0.01")
            if {k: v.quantize(cents) for k, v in found.items()} != {k: v.quantize(cents) for k, v in expected.items()}:
                print("the SQL look-through differs from the domain's", file=sys.stderr)
                return 1
            assets = held_assets(held)
            service_ms, _ = median_ms(lambda: _exposure_in_lake(local, assets, "EUR", "security", DAY), args.runs)
            s3_walk_ms, _ = median_ms(sql_walk(remote, held), args.runs)
            s3_service_ms, _ = median_ms(lambda: _exposure_in_lake(remote, assets, "EUR", "security", DAY), args.runs)
        finally:
            local.close()
            remote.close()
            server.stop()
    print(f"{len(found) - 1} securities after look-through; results equal to the cent")
    print(f"domain look_through + group_exposure (Python): {domain_ms:9.1f} ms")
    print(f"SQL walk, folder lake:                         {walk_ms:9.1f} ms   {domain_ms / walk_ms:5.1f}x faster")
    print(f"service (closes, rates, walk), folder lake:    {service_ms:9.1f} ms")
    print(
        f"SQL walk, S3 lake (moto):                      {s3_walk_ms:9.1f} ms   {s3_walk_ms / walk_ms:5.2f}x the folder"
    )
    print(
        f"service, S3 lake (moto):                       {s3_service_ms:9.1f} ms   "
        f"{s3_service_ms / service_ms:5.2f}x the folder"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
