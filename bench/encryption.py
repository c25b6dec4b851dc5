"""What encryption at rest costs: the API, an import and analytics, encrypted against plaintext.

    python bench/encryption.py                 # demo scale 3 (~30,000 transactions), 200,000-row import
    python bench/encryption.py --scale 1 --rows 50000 --seconds 5   # a quicker look

One demo device (ledger and ten years of generated market data) is built, copied, and
the copy encrypted with ``prism db encrypt`` (SQLCipher for the database, the lake's
per-owner files sealed with it). Then, for each of the two folders in turn:

* the API under ``wrk`` (32 connections, one thread): ``GET /api/v1/holdings`` and
  ``POST /api/v1/transactions`` (a buy), requests/s and p50/p99;
* analytics through the API: ``GET /api/v1/performance`` cold (the owner's snapshots
  and results removed, so the whole history is recomputed and written to the lake),
  then warm (median of five);
* ``prism import transactions`` of the same generated file into a fresh store.

The two shapes run in the order plaintext, encrypted, encrypted, plaintext (per
round), and each figure is the median of its shape's runs. Prints each figure for
plaintext and encrypted side by side with their ratio (time
encrypted / time plaintext; for a rate, plaintext / encrypted), beside the issue's goal
of at most 1.3x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api_load import POST_SCRIPT, _free_port, _wait_for, _wrk
from bench.import_transactions import generate

console = Console()
PASSPHRASE = "benchmark passphrase, long enough 42"
PRISM = [sys.executable, "-c", "import sys; from prism.cli import main; main(sys.argv[1:])"]
GOAL = 1.3


def _env(data_dir: Path, encrypted: bool) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("PRISM_")}
    env = {
        **keep,
        "PRISM_DATA_DIR": str(data_dir),
        "PRISM_SQLITE_SYNCHRONOUS": "NORMAL",
        "PRISM_RATE_LIMIT_PER_MINUTE": "0",
    }
    if encrypted:
        env |= {"PRISM_DATABASE_ENCRYPT": "1", "PRISM_DATABASE_PASSPHRASE": PASSPHRASE}
    return env


def _prism(env: dict[str, str], *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([*PRISM, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"prism {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


@contextmanager
def _server(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    port = _free_port()
    log = Path(env["PRISM_DATA_DIR"]).parent / "server.log"
    with log.open("a") as output:
        server = subprocess.Popen([*PRISM, "serve", "--port", str(port)], env=env, stdout=output, stderr=output)
        try:
            _wait_for(port)
            token = (Path(env["PRISM_DATA_DIR"]) / "api-token").read_text().strip()
            yield f"http://127.0.0.1:{port}", token
        except BaseException:
            console.print(log.read_text()[-4000:])
            raise
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def _drop_owner_analytics(data_dir: Path) -> None:
    for dataset in ("snapshots", "results"):
        shutil.rmtree(data_dir / "lake" / dataset, ignore_errors=True)


def _api(env: dict[str, str], seconds: int, workdir: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    with _server(env) as (url, token):
        headers = {"Authorization": f"Bearer {token}"}
        portfolios = httpx.get(f"{url}/api/v1/portfolios", headers=headers, timeout=60).json()["items"]
        portfolio = next(p for p in portfolios if p["base_currency"] == "EUR")["id"]
        assets = httpx.get(f"{url}/api/v1/assets?limit=500", headers=headers, timeout=60).json()["items"]
        euro = [a["id"] for a in assets if a["currency"] == "EUR"][:50]
        holdings = _wrk(f"{url}/api/v1/holdings", token=token, seconds=seconds)
        script = workdir / "post.lua"
        script.write_text(POST_SCRIPT % (", ".join(f'"{a}"' for a in euro), token, portfolio))
        posts = _wrk(f"{url}/api/v1/transactions", token=None, seconds=seconds, script=str(script))
        found |= {"holdings rps": holdings["rps"], "holdings p50": holdings["p50"], "holdings p99": holdings["p99"]}
        found |= {"buy rps": posts["rps"], "buy p50": posts["p50"], "buy p99": posts["p99"]}
    return found


def _analytics(env: dict[str, str], data_dir: Path) -> dict[str, float]:
    _drop_owner_analytics(data_dir)
    with _server(env) as (url, token):
        headers = {"Authorization": f"Bearer {token}"}

        def performance() -> float:
            started = time.perf_counter()
            answer = httpx.get(f"{url}/api/v1/performance", headers=headers, timeout=600)
            assert answer.status_code == 200, answer.text
            return time.perf_counter() - started

        cold = performance()
        warm = statistics.median(performance() for _ in range(5))
    return {"performance cold s": cold, "performance warm ms": warm * 1000}


def _import(env: dict[str, str], data_dir: Path, source: Path, rows: int) -> dict[str, float]:
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**env, "PRISM_DATA_DIR": str(data_dir)}
    _prism(env, "db", "upgrade")
    seconds = _prism(env, "import", "transactions", "--format", "generic", str(source))
    return {"import rows/s": rows / seconds}


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, dict[str, float]]:
    plain_dir, sealed_dir = workdir / "plain", workdir / "encrypted"
    with console.status(f"building the demo device (scale {args.scale})"):
        _prism(_env(plain_dir, False), "demo", "--no-serve", "--scale", str(args.scale))
        shutil.copytree(plain_dir, sealed_dir)
        secret = workdir / "passphrase"
        secret.write_text(PASSPHRASE + "\n")
        _prism(_env(sealed_dir, False), "db", "encrypt", "--passphrase-file", str(secret))
    source = workdir / "transactions.csv"
    with console.status(f"generating {args.rows:,} rows to import"):
        generate(source, args.rows)
    shapes = {"plaintext": (plain_dir, False), "encrypted": (sealed_dir, True)}
    # Plaintext, encrypted, encrypted, plaintext (and again per round): a machine that
    # gets busier or quieter during the run weighs on both sides alike.
    order = ["plaintext", "encrypted", "encrypted", "plaintext"] * args.rounds
    runs: dict[str, list[dict[str, float]]] = {"plaintext": [], "encrypted": []}
    for number, name in enumerate(order, start=1):
        folder, encrypted = shapes[name]
        env = _env(folder, encrypted)
        found: dict[str, float] = {}
        step = f"[{number}/{len(order)}] {name}"
        with console.status(f"{step}: API under load"):
            found |= _api(env, args.seconds, workdir)
        with console.status(f"{step}: analytics"):
            found |= _analytics(env, folder)
        with console.status(f"{step}: importing {args.rows:,} rows"):
            found |= _import(env, workdir / f"import-{name}", source, args.rows)
        runs[name].append(found)
    return {
        name: {key: statistics.median(run[key] for run in found) for key in found[0]} for name, found in runs.items()
    }


def report(results: dict[str, dict[str, float]]) -> None:
    table = Table(title="encryption at rest: encrypted against plaintext", title_justify="left")
    for column in ("measure", "plaintext", "encrypted", "slowdown", f"goal <= {GOAL}x"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    for measure_name, plain in results["plaintext"].items():
        sealed = results["encrypted"][measure_name]
        rate = "rps" in measure_name or "rows/s" in measure_name
        slowdown = plain / sealed if rate else sealed / plain
        verdict = "[green]met[/green]" if slowdown <= GOAL else "[red]missed[/red]"
        table.add_row(measure_name, f"{plain:,.1f}", f"{sealed:,.1f}", f"{slowdown:.2f}x", verdict)
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=3.0, help="demo scale (1: ~10,000 transactions)")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the import file")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each wrk run")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of plaintext, encrypted, encrypted, plaintext")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="prism-bench-encryption-") as folder:
        report(measure(args, Path(folder)))


if __name__ == "__main__":
    main()
