"""Importing a large transactions file, beside pandas ``read_csv`` + ``to_sql``, and exporting it.

    python bench/import_transactions.py                  # 1,000,000 rows
    python bench/import_transactions.py --rows 100000    # a quicker look

A generated file in the generic CSV format (``docs/imports.md``): one deposit, then buys
and sells of 200 assets over the years (sells never more than held). Prism imports it
with ``prism import transactions`` into a fresh SQLite store: every row parsed from text
into decimals, checked by the ledger's rules (oversells at their date included), given
its deterministic id, captured for sync, and folded into the positions projection. The
baseline reads the same file with pandas and writes it to a SQLite table with
``to_sql``, which checks nothing. Each side runs in a process of its own; its peak
memory is that process's ``VmHWM``. Then ``prism export --format csv`` writes the
account back out. Goals (the issue): at least 50,000 rows/s, memory flat (the file
never whole in memory), export under 30 s.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.demo_universe import demo_universe

console = Console()

_PEAK = (
    "print(__import__('json').dumps({'peak_mb': int([line for line in open('/proc/self/status') "
    "if line.startswith('VmHWM')][0].split()[1]) // 1024}))"
)

_PRISM = """
import sys
from prism.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    {peak}
"""

_PANDAS = """
import sys, sqlite3
import pandas as pd
frame = pd.read_csv(sys.argv[1])
with sqlite3.connect(sys.argv[2]) as connection:
    frame.to_sql("transactions", connection, index=False)
{peak}
"""


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """A generic-format file of ``rows`` rows: a deposit, then buys and sells."""
    rng = random.Random(seed)
    assets = [a for a in demo_universe(seed) if a.kind == "stock"][:200]
    held = dict.fromkeys((a.isin for a in assets), 0)
    day = dt.date(2000, 1, 3)
    with path.open("w", newline="") as file:
        out = csv.writer(file)
        out.writerow(["date", "type", "isin", "name", "quantity", "price", "fee", "amount", "currency"])
        out.writerow([day.isoformat(), "deposit", "", "", "", "", "", str(rows * 1000), "EUR"])
        for number in range(1, rows):
            asset = rng.choice(assets)
            when = day + dt.timedelta(days=number // 100)
            price = f"{rng.randint(500, 50_000) / 100:.2f}"
            if held[asset.isin] > 0 and rng.random() < 0.3:
                quantity = rng.randint(1, held[asset.isin])
                held[asset.isin] -= quantity
                kind = "sell"
            else:
                quantity = rng.randint(1, 50)
                held[asset.isin] += quantity
                kind = "buy"
            out.writerow([when.isoformat(), kind, asset.isin, asset.name, quantity, price, "1.00", "", "EUR"])


def run(script: str, *args: str, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run ``script`` in a fresh interpreter; (seconds, peak MB)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script.format(peak=_PEAK), *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        console.print(done.stdout[-3000:], done.stderr[-3000:])
        raise SystemExit(f"failed: {args}")
    peak = json.loads(done.stdout.strip().splitlines()[-1])["peak_mb"]
    return elapsed, int(peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="prism-import-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"transactions-{args.rows}.csv"
    if not source.exists():
        with console.status(f"generating {args.rows:,} rows"):
            generate(source, args.rows)
    size_mb = source.stat().st_size / 1e6
    data = work / f"prism-{time.time_ns()}"
    env = {"PRISM_DATA_DIR": str(data)}
    with console.status("prism import transactions"):
        prism_s, prism_mb = run(_PRISM, "import", "transactions", str(source), "--format", "generic", env=env)
    with console.status("pandas read_csv + to_sql"):
        pandas_s, pandas_mb = run(_PANDAS, str(source), str(work / f"pandas-{time.time_ns()}.db"))
    with console.status("prism export --format csv"):
        export_s, export_mb = run(_PRISM, "export", "--format", "csv", str(data / "export"), env=env)
    table = Table(title=f"Import of {args.rows:,} transactions ({size_mb:,.0f} MB CSV) into SQLite")
    for name in ("measure", "Prism", "baseline (pandas, no checks)", "ratio", "goal"):
        table.add_column(name, justify="right" if name != "measure" else "left")
    rate, baseline_rate = args.rows / prism_s, args.rows / pandas_s
    table.add_row(
        "import, rows/s",
        f"{rate:,.0f}",
        f"{baseline_rate:,.0f}",
        f"{pandas_s / prism_s:.2f}x the speed",
        f">= 50,000: {'met' if rate >= 50_000 else 'missed'}",
    )
    table.add_row("import, seconds", f"{prism_s:,.1f}", f"{pandas_s:,.1f}", "", "")
    memory = f"{prism_mb / pandas_mb:.2f}x"
    table.add_row("import, peak memory", f"{prism_mb:,} MB", f"{pandas_mb:,} MB", memory, "flat")
    export_goal = f"< 30 s: {'met' if export_s < 30 else 'missed'}"
    table.add_row("export (csv), seconds", f"{export_s:,.1f}", "", "", export_goal)
    table.add_row("export, peak memory", f"{export_mb:,} MB", "", "", "")
    console.print(table)
    console.print(f"command: python bench/import_transactions.py --rows {args.rows}   (work dir {work})")


if __name__ == "__main__":
    main()
