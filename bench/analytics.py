"""Analytics benchmark: value history and performance through Prism, against pandas over CSV.

    python bench/analytics.py                          # 1,000 assets x 10 years, ~100,000 transactions
    python bench/analytics.py --scale 1                # ~10,000 transactions, quicker
    python bench/analytics.py --workdir /tmp/prism-analytics   # keep (and reuse) the built data

Setup (once per work dir): the demo ledger (``create_demo_book``) in a SQLite file, the
demo market (``write_demo_market``: closes of 1,000 assets over ten years, FX rates, 50
ETF compositions) in a folder lake, the snapshots job run once, and CSV exports of the
ledger (transactions, assets, portfolios, the owner's base currency) and of the market
(prices, FX) for the baseline.

Then, each in its own process so that its peak memory is its own:

* Prism, lake in the folder: ``performance(...)`` of all portfolios and of one
  (the "Broker" portfolio) with the snapshots current (the served path), then the
  cold recompute (the owner's snapshots and job state deleted first, then the same
  ``performance(...)`` call, which runs the snapshots job from nothing);
* Prism, lake on S3 (moto's server on loopback, started here, holding a copy of every
  file of the folder lake): the served path and the cold recompute again;
* the baseline, ``bench/baseline_pandas.py``: the same computation in pandas over the
  CSV files, for all portfolios and for the one.

The baseline's daily values (every portfolio and the total, every day) and its TTWROR,
IRR, volatility and maximum drawdown are checked against Prism's; the benchmark fails
(exit status 1) when they differ, since a ratio against a different result means nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings, LakeSettings
from prism.storage.engine import Database, open_database

console = Console(width=max(Console().width, 150))
HERE = Path(__file__).resolve().parent
ONE_PORTFOLIO = "Broker"
GOAL_SERVED_MS = 300.0
GOAL_S3_RATIO = 3.0
GOAL_PEAK_MB = 500.0
S3_KEY, S3_SECRET = "bench-key", "bench-secret"


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _database(folder: Path) -> Database:
    return open_database(DatabaseSettings(url=f"sqlite:///{folder / 'prism.db'}", synchronous="NORMAL"))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB.

    ``VmHWM`` rather than ``getrusage``'s ``ru_maxrss``: Linux carries ``ru_maxrss`` over
    from the parent across fork and exec, so a child started by a big process reports the
    parent's peak. Falls back to ``ru_maxrss`` where there is no ``/proc``.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- setup ---------------------------------------------------------------------------


async def _build_ledger(folder: Path, scale: float) -> dict[str, Any]:
    from prism.demo import create_demo_book
    from prism.migrations import upgrade

    database = _database(folder)
    try:
        await upgrade(database)
        expected = round(10_000 * scale)
        with _progress() as progress:
            task = progress.add_task("recording the demo ledger", total=expected)

            def advance(count: int) -> None:
                progress.update(task, completed=min(count, expected))

            started = time.perf_counter()
            book = await database.write(create_demo_book, scale=scale, progress=advance)
            progress.update(task, completed=expected)
        console.print(
            f"recorded {book.entries:,} transactions of {book.assets:,} assets in {time.perf_counter() - started:.0f} s"
        )
        return {
            "owner": str(book.owner_id),
            "portfolios": {name: str(ident) for name, ident in book.portfolios.items()},
            "entries": book.entries,
            "assets": book.assets,
        }
    finally:
        await database.dispose()


async def _build_market(folder: Path) -> None:
    from prism.demo_lake import write_demo_market
    from prism.storage.lake import open_lake, writer_lease

    database = _database(folder)
    lake = open_lake(LakeSettings(url=str(folder / "lake")))
    try:
        async with writer_lease(database, folder / "lake.lock"):
            with _progress() as progress:
                task = progress.add_task("generating the market", total=None)

                def advance(description: str, done: int, total: int) -> None:
                    progress.update(task, description=description, completed=done, total=total)

                started = time.perf_counter()
                written = await asyncio.to_thread(write_demo_market, lake, progress=advance)
        console.print(
            f"wrote {written.closes:,} closes of {written.assets:,} assets ({written.first} to {written.last}), "
            f"{written.rates:,} FX rates, {written.funds} ETFs in {time.perf_counter() - started:.0f} s"
        )
    finally:
        lake.close()
        await database.dispose()


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(["" if value is None else str(value) for value in row] for row in rows)


def _ledger_tables(connection: Any, owner: uuid.UUID) -> dict[str, tuple[list[str], list[list[Any]]]]:
    from sqlalchemy import select

    from prism.storage.ledger_load import ENTRY_COLUMNS
    from prism.storage.settings import get_setting
    from prism.storage.tables import assets, portfolios, transactions

    t, a, p = transactions.c, assets.c, portfolios.c
    live = (t.owner_id == owner) & t.deleted_at.is_(None)
    entries = [list(row) for row in connection.execute(select(*ENTRY_COLUMNS).where(live))]
    asset_columns = [a.id, a.isin, a.currency, a.kind, a.name]
    listed = [list(row) for row in connection.execute(select(*asset_columns).where(a.owner_id == owner))]
    portfolio_columns = [p.id, p.name, p.base_currency]
    alive = (p.owner_id == owner) & p.deleted_at.is_(None)
    books = [list(row) for row in connection.execute(select(*portfolio_columns).where(alive))]
    base = get_setting(connection, owner, "base_currency").value
    return {
        "transactions": ([column.name for column in ENTRY_COLUMNS], entries),
        "assets": ([column.name for column in asset_columns], listed),
        "portfolios": ([column.name for column in portfolio_columns], books),
        "owner": (["owner_id", "base_currency"], [[owner, base]]),
    }


async def export_ledger(database: Database, owner: uuid.UUID, target: Path) -> None:
    """The owner's live transactions, assets, portfolios and base currency as CSV files in ``target``."""
    tables = await database.read(_ledger_tables, owner)
    for name, (header, rows) in tables.items():
        _write_csv(target / f"{name}.csv", header, rows)


def export_market(lake: Any, target: Path) -> None:
    """The lake's prices and FX rates as CSV files in ``target`` (DuckDB writes them)."""
    from prism.storage.lake import FX, PRICES

    for name, dataset, order in (("prices", PRICES, "isin, date"), ("fx", FX, "pair, date")):
        path = str(target / f"{name}.csv").replace("'", "''")
        columns = ", ".join(dataset.schema.names)
        cursor = lake.cursor()
        try:
            cursor.execute(f"COPY (SELECT {columns} FROM {lake.scan(dataset)} ORDER BY {order}) TO '{path}' (HEADER)")
        finally:
            cursor.close()


async def _export(folder: Path, owner: uuid.UUID) -> None:
    from prism.storage.lake import open_lake

    database = _database(folder)
    lake = open_lake(LakeSettings(url=str(folder / "lake")))
    try:
        await export_ledger(database, owner, folder / "csv")
        export_market(lake, folder / "csv")
    finally:
        lake.close()
        await database.dispose()


async def _first_refresh(folder: Path, owner: uuid.UUID) -> float:
    from prism.analytics.snapshots import refresh_snapshots
    from prism.storage.lake import open_lake

    database = _database(folder)
    lake = open_lake(LakeSettings(url=str(folder / "lake")))
    try:
        started = time.perf_counter()
        await refresh_snapshots(database, lake, folder / "lake.lock", owner)
        return time.perf_counter() - started
    finally:
        lake.close()
        await database.dispose()


def setup(folder: Path, scale: float) -> dict[str, Any]:
    """Build (or reuse, step by step) the work dir's ledger, lake and CSV files; the book's description."""
    marker = folder / "book.json"
    book: dict[str, Any] = json.loads(marker.read_text()) if marker.exists() else {}
    if book and book.get("scale") != scale:
        sys.exit(f"{folder} holds data of scale {book.get('scale')}; give another --workdir")
    if not book and folder.exists() and any(folder.iterdir()):
        sys.exit(f"{folder} is not empty; give an empty or a previous benchmark's --workdir")
    if book.get("snapshots_s") is not None:
        console.print(f"reusing the data in {folder} (scale {scale:g}, {book['entries']:,} transactions)")
        with console.status("bringing the snapshots up to date (nothing to do unless something changed)"):
            asyncio.run(_first_refresh(folder, uuid.UUID(book["owner"])))
        return book
    (folder / "csv").mkdir(parents=True, exist_ok=True)
    if "owner" not in book:
        book = asyncio.run(_build_ledger(folder, scale)) | {"scale": scale}
        marker.write_text(json.dumps(book))
    if not book.get("market"):
        asyncio.run(_build_market(folder))
        marker.write_text(json.dumps(book | {"market": True}))
    if not book.get("csv"):
        with console.status("exporting the ledger and the market to CSV"):
            started = time.perf_counter()
            asyncio.run(_export(folder, uuid.UUID(book["owner"])))
        sizes = sum(path.stat().st_size for path in (folder / "csv").iterdir())
        console.print(f"exported CSV files ({sizes / 1e6:,.0f} MB) in {time.perf_counter() - started:.0f} s")
        marker.write_text(json.dumps(book | {"market": True, "csv": True}))
    with console.status("running the snapshots job once (the served path needs it current)"):
        seconds = asyncio.run(_first_refresh(folder, uuid.UUID(book["owner"])))
    console.print(f"first snapshots job: {seconds:.1f} s")
    book |= {"market": True, "csv": True, "snapshots_s": seconds}
    marker.write_text(json.dumps(book))
    return book


# --- Prism's side, run in a process of its own ----------------------------------------


def _median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def _timed(call: Callable[[], Awaitable[Any]], runs: int) -> tuple[list[float], Any]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await call()
        samples.append(time.perf_counter() - started)
    return samples, result


def _performance_record(found: Any) -> dict[str, Any]:
    return {
        "ttwror": str(found.ttwror),
        "irr": None if found.irr is None else str(found.irr),
        "volatility": str(found.volatility),
        "max_drawdown": str(found.max_drawdown),
        "end_value": str(found.end_value),
        "start": str(found.start),
        "end": str(found.end),
    }


def _clear_snapshots(lake: Any, owner: uuid.UUID) -> None:
    """Delete the owner's snapshots, results and job state: the next read recomputes everything."""
    from prism.storage.lake import RESULTS, SNAPSHOTS, dataset_root

    for dataset in (SNAPSHOTS, RESULTS):
        lake.objects.delete(lake.objects.list(dataset_root(dataset, owner)))


async def measure_prism(args: argparse.Namespace) -> dict[str, Any]:
    """The served path and the cold recompute on the lake ``args`` name; the results to compare."""
    from prism.analytics.history import performance
    from prism.storage.lake import open_lake

    folder: Path = args.workdir
    book = json.loads((folder / "book.json").read_text())
    owner = uuid.UUID(book["owner"])
    one = uuid.UUID(book["portfolios"][ONE_PORTFOLIO])
    if args.s3_endpoint:
        settings = LakeSettings(
            url=args.lake_url,
            s3_endpoint=args.s3_endpoint,
            s3_access_key_id=S3_KEY,
            s3_secret_access_key=S3_SECRET,
        )
    else:
        settings = LakeSettings(url=str(folder / "lake"))
    database, lake, lock = _database(folder), open_lake(settings), folder / "lake.lock"
    out: dict[str, Any] = {}

    async def cold(label: str) -> None:
        samples: list[float] = []
        while not samples or (len(samples) < args.cold_runs and sum(samples) < args.cold_budget):
            _clear_snapshots(lake, owner)
            started = time.perf_counter()
            await performance(database, lake, lock, owner, None)
            samples.append(time.perf_counter() - started)
        out[f"{label}_ms"] = _median_ms(samples)
        out[f"{label}_samples_ms"] = [s * 1000 for s in samples]

    try:
        # One call before timing: imports, DuckDB's start and the first connection are not the path.
        await performance(database, lake, lock, owner, None)
        served, _ = await _timed(lambda: performance(database, lake, lock, owner, None), args.runs)
        out["served_all_ms"] = _median_ms(served)
        out["served_all_samples_ms"] = [s * 1000 for s in served]
        served_one, _ = await _timed(lambda: performance(database, lake, lock, owner, one), args.runs)
        out["served_one_ms"] = _median_ms(served_one)
        out["served_one_samples_ms"] = [s * 1000 for s in served_one]
        out["served_peak_mb"] = peak_rss_mb()
        served_results = await _results(database, lake, lock, owner, book["portfolios"])
        if args.results:
            _write_csv(Path(args.results), ["portfolio", "date", "value", "inflow", "outflow"], served_results[0])
            out["performance"] = served_results[1]
        if not args.skip_cold:
            await cold("cold_all")
            # The job from nothing must give exactly the snapshots the served path read.
            out["cold_identical"] = await _results(database, lake, lock, owner, book["portfolios"]) == served_results
        out["peak_mb"] = peak_rss_mb()
    finally:
        lake.close()
        await database.dispose()
    return out


async def _results(
    database: Database, lake: Any, lock: Path, owner: uuid.UUID, portfolios: dict[str, str]
) -> tuple[list[list[str]], dict[str, Any]]:
    """Every stored day (value and flows, exact) and each series' measures, through the served path."""
    from prism.analytics.days import read_history
    from prism.analytics.history import performance

    rows: list[list[str]] = []
    measures: dict[str, Any] = {}
    for name, ident in [("all", None), *((n, uuid.UUID(i)) for n, i in portfolios.items())]:
        measures[name] = _performance_record(await performance(database, lake, lock, owner, ident))
        days, _ = read_history(lake, owner, ident, None, None)
        rows += [[name, d.date.isoformat(), str(d.value), str(d.inflow), str(d.outflow)] for d in days]
    return rows, measures


# --- S3: moto's server on loopback, holding a copy of the folder lake ------------------


def _start_s3(folder: Path) -> tuple[Any, str, str]:
    import logging
    import socket

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET
    )
    bucket, prefix = "bench-lake", "prism"
    client.create_bucket(Bucket=bucket)
    root = folder / "lake"
    files = [path for path in root.rglob("*") if path.is_file() and not path.name.startswith(".tmp-")]
    with _progress() as progress:
        task = progress.add_task("copying the lake to S3", total=len(files))
        for path in files:
            client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
            progress.advance(task)
    return server, endpoint, f"s3://{bucket}/{prefix}"


# --- the check: the baseline computes the same figures --------------------------------

_CENT = Decimal("0.01")
MEASURES = ("ttwror", "irr", "volatility", "max_drawdown")
MEASURE_TOLERANCE = 1e-9


class Check(NamedTuple):
    """How the baseline's figures compare with Prism's."""

    days: int  # portfolio-days compared
    cent_mismatches: int  # days whose values differ once both are rounded to cents
    ties: int  # days on an exact half cent that float cannot round like Prism (|diff| < 1e-6)
    max_value_diff: float
    max_flow_diff: float
    measures: int
    max_measure_diff: float
    notes: list[str]

    @property
    def values_ok(self) -> bool:
        return self.days > 0 and self.cent_mismatches == 0

    @property
    def measures_ok(self) -> bool:
        return self.measures > 0 and self.max_measure_diff <= MEASURE_TOLERANCE

    @property
    def ok(self) -> bool:
        return self.values_ok and self.measures_ok


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def compare(
    prism_values: Path, prism_measures: dict[str, Any], baseline_values: Path, baseline_measures: dict[str, Any]
) -> Check:
    """Every day's value and flows, and every series' TTWROR, IRR, volatility and drawdown, side by side."""
    import pandas as pd

    prism = pd.read_csv(prism_values, dtype=str)
    baseline = pd.read_csv(baseline_values, dtype={"portfolio": str, "date": str})
    both = prism.merge(baseline, on=["portfolio", "date"], how="outer", suffixes=("", "_b"), indicator=True)
    notes: list[str] = []
    alone = both[both["_merge"] != "both"]
    if len(alone):
        notes.append(f"[red]{len(alone)} days only on one side, e.g. {alone.iloc[0].to_dict()}[/red]")
    paired = both[both["_merge"] == "both"]
    mismatches = ties = 0
    max_value = max_flow = 0.0
    for row in paired.itertuples(index=False):
        exact, other = Decimal(row.value), Decimal(row.value_b)
        difference = abs(exact - other)
        max_value = max(max_value, float(difference))
        for name in ("inflow", "outflow"):
            flow_difference = abs(Decimal(getattr(row, name)) - Decimal(getattr(row, f"{name}_b")))
            max_flow = max(max_flow, float(flow_difference))
            if _cents(Decimal(getattr(row, name))) != _cents(Decimal(getattr(row, f"{name}_b"))):
                mismatches += 1
                notes.append(f"[red]{name} differs: {row.portfolio} {row.date}: Prism {getattr(row, name)}[/red]")
        if _cents(exact) == _cents(other):
            continue
        on_half_cent = (exact * 200) % 2 == 1
        if on_half_cent and difference < Decimal("1e-6"):
            ties += 1
            continue
        mismatches += 1
        if mismatches <= 5:
            notes.append(f"[red]value differs: {row.portfolio} {row.date}: Prism {exact}, baseline {other}[/red]")
    mismatches += len(alone)
    count, worst = 0, 0.0
    for series, figures in prism_measures.items():
        theirs = baseline_measures.get(series)
        if theirs is None:
            notes.append(f"[red]the baseline has no figures for {series}[/red]")
            worst = float("inf")
            continue
        for name in MEASURES:
            mine, other_value = figures[name], theirs[name]
            count += 1
            if (mine is None) != (other_value is None):
                notes.append(f"[red]{series} {name}: Prism {mine}, baseline {other_value}[/red]")
                worst = float("inf")
            elif mine is not None:
                difference = abs(float(Decimal(mine) - Decimal(repr(other_value))))
                worst = max(worst, difference)
                if difference > MEASURE_TOLERANCE:
                    notes.append(f"[red]{series} {name}: Prism {mine}, baseline {other_value!r}[/red]")
    if ties:
        notes.append(
            f"{ties} days whose exact value is on a half cent: float64 cannot round those like Decimal "
            "(|diff| < 1e-6), so they are not counted as differences"
        )
    return Check(len(paired), mismatches, ties, max_value, max_flow, count, worst, notes)


# --- the driver -------------------------------------------------------------------------


def _child(command: list[str], label: str, out: Path) -> dict[str, Any]:
    """Run one side in a process of its own; its figures come back through ``out`` (kept in the work dir)."""
    with console.status(label):
        subprocess.run([*command, "--out", str(out)], check=True)
    found: dict[str, Any] = json.loads(out.read_text())
    return found


def _goal(met: bool) -> str:
    return "[green]met[/green]" if met else "[red]missed[/red]"


def _ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 100 else f"{value:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0, help="demo scale (10: 1,000 assets, ~100,000 entries)")
    parser.add_argument("--workdir", type=Path, help="where to build (and reuse) the data; default a temp dir")
    parser.add_argument("--runs", type=int, default=5, help="runs of each quick measure (median)")
    parser.add_argument("--cold-runs", type=int, default=3, help="runs of each multi-second measure (median)")
    parser.add_argument(
        "--cold-budget", type=float, default=60.0, help="stop repeating a cold measure after this many seconds"
    )
    parser.add_argument(
        "--skip-cold", action="store_true", help="report the setup's first snapshots job as the cold figure"
    )
    parser.add_argument("--role", choices=["prism"], help=argparse.SUPPRESS)
    parser.add_argument("--s3-endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--lake-url", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "prism":
        Path(args.out).write_text(json.dumps(asyncio.run(measure_prism(args))))
        return
    temporary = args.workdir is None
    folder = (args.workdir or Path(tempfile.mkdtemp(prefix="prism-analytics-"))).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    # DuckDB spills into ".tmp" under the working directory: keep this run's spills in its work dir.
    os.chdir(folder)
    try:
        run(args, folder)
    finally:
        if temporary:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> None:
    book = setup(folder, args.scale)
    me = [sys.executable, str(Path(__file__).resolve()), "--role", "prism", "--workdir", str(folder)]
    me += ["--runs", str(args.runs), "--cold-runs", str(args.cold_runs), "--cold-budget", str(args.cold_budget)]
    me += ["--skip-cold"] if args.skip_cold else []
    results = folder / "prism-values.csv"
    local = _child(
        [*me, "--results", str(results)],
        "Prism, lake in a folder: served path and cold recompute",
        folder / "prism.json",
    )
    baseline_out = folder / "baseline-values.csv"
    baseline_command = [sys.executable, str(HERE / "baseline_pandas.py"), str(folder / "csv")]
    baseline_command += ["--runs", str(args.cold_runs), "--portfolio", ONE_PORTFOLIO, "--values", str(baseline_out)]
    baseline = _child(baseline_command, "the pandas baseline over CSV", folder / "baseline.json")
    server, endpoint, url = _start_s3(folder)
    try:
        s3 = _child(
            [*me, "--s3-endpoint", endpoint, "--lake-url", url],
            "Prism, lake on S3 (moto on loopback)",
            folder / "s3.json",
        )
    finally:
        server.stop()
    check = compare(results, local["performance"], baseline_out, baseline["performance"])
    identical = local.get("cold_identical", True) and s3.get("cold_identical", True)
    _report(args, book=book, local=local, s3=s3, baseline=baseline, check=check)
    if not check.ok:
        console.print("[bold red]Prism and the baseline disagree: the ratios above mean nothing.[/bold red]")
        sys.exit(1)
    if not identical:
        console.print("[bold red]A cold recompute gave other snapshots than the served ones.[/bold red]")
        sys.exit(1)


def _report(
    args: argparse.Namespace,
    *,
    book: dict[str, Any],
    local: dict[str, Any],
    s3: dict[str, Any],
    baseline: dict[str, Any],
    check: Check,
) -> None:
    title = (
        f"Value history + performance, whole period: {book['entries']:,} transactions, {book['assets']:,} assets, "
        f"{len(book['portfolios'])} portfolios, {check.days:,} portfolio-days"
    )
    table = Table(title=title)
    for column in ("measure", "Prism", "baseline", "ratio", "goal"):
        table.add_column(column, justify="left" if column == "measure" else "right")

    def against_baseline(measure: str, prism: float | None, other: float, goal: str = "") -> None:
        if prism is None:
            table.add_row(measure, "not run", _ms(other), "", goal)
            return
        faster = f"{other / prism:,.1f}x faster" if prism <= other else f"{prism / other:,.1f}x slower"
        table.add_row(measure, _ms(prism), _ms(other), faster, goal)

    def served_goal(value: float) -> str:
        return f"< {GOAL_SERVED_MS:.0f} ms: {_goal(value < GOAL_SERVED_MS)}"

    def s3_row(measure: str, key: str) -> None:
        if key not in s3 or key not in local:
            table.add_row(measure, "not run", "", "", "")
            return
        ratio = s3[key] / local[key]
        goal = f"<= {GOAL_S3_RATIO:.0f}x: {_goal(ratio <= GOAL_S3_RATIO)}"
        table.add_row(measure, _ms(s3[key]), _ms(local[key]), f"{ratio:,.2f}x the time", goal)

    def peak_goal(value: float) -> str:
        return f"< {GOAL_PEAK_MB:.0f} MB: {_goal(value < GOAL_PEAK_MB)}"

    all_ms, one_ms = baseline["all_ms"], baseline["one_ms"]
    table.add_section()
    table.add_row("[bold]time[/bold] (baseline: pandas over CSV, reads included)", "", "", "", "")
    against_baseline("a. all portfolios, served", local["served_all_ms"], all_ms, served_goal(local["served_all_ms"]))
    one = local["served_one_ms"]
    against_baseline(f"b. one portfolio ({ONE_PORTFOLIO}), served", one, one_ms, served_goal(one))
    if "cold_all_ms" in local:
        against_baseline("c. all portfolios, cold (snapshots job from nothing)", local["cold_all_ms"], all_ms)
    else:  # not repeated here: the setup's first snapshots job is the same work, once
        against_baseline("c. all portfolios, cold: the setup's first snapshots job", book["snapshots_s"] * 1000, all_ms)
    table.add_section()
    table.add_row("[bold]S3[/bold] (moto on loopback; baseline: the folder lake)", "", "", "", "")
    s3_row("e. a. on S3", "served_all_ms")
    s3_row("e. b. on S3", "served_one_ms")
    s3_row("e. c. on S3", "cold_all_ms")
    table.add_section()
    table.add_row("[bold]peak RSS[/bold] (each its own process)", "", "", "", "")
    table.add_row(
        "f. Prism, served path only", f"{local['served_peak_mb']:,.0f} MB", "", "", peak_goal(local["served_peak_mb"])
    )
    if "cold_all_ms" in local:
        table.add_row(
            "f. Prism, served + cold recompute",
            f"{local['peak_mb']:,.0f} MB",
            f"{baseline['peak_mb']:,.0f} MB",
            f"{local['peak_mb'] / baseline['peak_mb']:,.2f}x",
            peak_goal(local["peak_mb"]),
        )
    else:
        table.add_row("f. baseline", "", f"{baseline['peak_mb']:,.0f} MB", "", "")
    table.add_row("f. Prism on S3, everything above", f"{s3['peak_mb']:,.0f} MB", "", "", "")
    table.add_section()
    table.add_row("[bold]same results?[/bold]", "", "", "", "")
    table.add_row(
        "daily values and flows, rounded to cents",
        f"{check.days:,} days",
        f"max |diff| {check.max_value_diff:.1e}",
        f"{check.cent_mismatches} differ",
        "[green]identical[/green]" if check.values_ok else "[red]DIFFERENT[/red]",
    )
    table.add_row(
        "TTWROR, IRR, volatility, max drawdown",
        f"{check.measures} figures",
        f"max |diff| {check.max_measure_diff:.1e}",
        f"tolerance {MEASURE_TOLERANCE:.0e}",
        "[green]identical[/green]" if check.measures_ok else "[red]DIFFERENT[/red]",
    )
    if "cold_identical" in local:
        same = local["cold_identical"] and s3.get("cold_identical", True)
        table.add_row(
            "Prism: the cold recomputes' snapshots equal the served ones",
            "",
            "",
            "exactly",
            "[green]identical[/green]" if same else "[red]DIFFERENT[/red]",
        )
    console.print(table)
    console.print(
        f"Medians of {args.runs} runs (served, after one untimed call) and of up to {args.cold_runs} runs "
        f"(cold: as many as fit in {args.cold_budget:.0f} s, at least one; the baseline: {args.cold_runs}). "
        "Peak RSS is each process's VmHWM (ru_maxrss would carry the parent's peak over fork and exec): Prism's "
        "process serves, then recomputes; the baseline runs in a process of its own that reads the CSV files and "
        "computes, nothing else."
    )
    for line in check.notes:
        console.print(line)
    command = "python bench/analytics.py" + (f" --scale {args.scale:g}" if args.scale != 10 else "")
    command += f" --workdir {args.workdir}" if args.workdir else ""
    command += " --skip-cold" if args.skip_cold else ""
    console.print(f"command: {command}")


if __name__ == "__main__":
    main()
