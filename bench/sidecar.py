"""Desktop sidecar benchmark: round trips over stdin/stdout, and the time to the readiness line.

    python bench/sidecar.py                           # builds the default demo first (about a minute)
    python bench/sidecar.py --data-dir /tmp/demo      # a data directory `prism demo --no-serve` filled
    python bench/sidecar.py --runs 300 --starts 9

The data directory is copied first (the benchmark writes to it). The sidecar runs as
the shell runs it: a child process, one JSON request per line on
its stdin, answers read from its stdout. The demo is ``prism demo``'s default: a
market of 1,000 assets and 50 ETFs in the lake, a ledger of about 10,000 transactions.

Timed:

* round trip (from the request written to the last byte of its answer read; the
  client's JSON parse is not timed, a 2 MB answer costs Python's ``json`` 20-40 ms), p50 and p99 of
  ``--runs``: ``get_health``; ``get_dashboard_data`` and ``get_true_holdings``
  *cached* (nothing changed since the last answer: what the shell's polling sees) and
  *after a commit* (a settings commit just before each request invalidates the answer
  cache: holdings, gains and history are read again; the look-through is reused
  because what is held and the lake are unchanged);
* ``get_true_holdings`` *after a composition commit*: a fund's composition written
  through ``commit_holdings_upload`` just before, so the lake's version changes and
  every composition in force is read and flattened again (a few runs: it is slow);
  and ``get_health`` sent 20 times, one after another, while such a recomputation
  runs (it must not wait for it);
* start to readiness line, median and worst of ``--starts`` starts, for
  ``python -m prism.sidecar`` and for ``prism sidecar`` (which pays for the ``prism``
  command's own imports first).
"""

from __future__ import annotations

import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PRISM = str(Path(sys.executable).with_name("prism"))
MODULE = [sys.executable, "-m", "prism.sidecar"]
GOALS = {"health": 5.0, "dashboard": 50.0, "true holdings": 50.0, "ready": 1500.0}


class Sidecar:
    """A sidecar child process, driven line by line."""

    def __init__(self, data_dir: Path, command: list[str]) -> None:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
        environment["PRISM_DATA_DIR"] = str(data_dir)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=environment
        )
        self.buffer = b""
        self.next_id = 1
        self.pending: dict[int, tuple[float, dict[str, Any]]] = {}
        self.ready = self.line()
        self.ready_ms = (time.perf_counter() - self.started) * 1000

    def raw_line(self) -> bytes:
        """The next line as bytes."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        while b"\n" not in self.buffer:
            select.select([fd], [], [], 60)
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                raise SystemExit("the sidecar closed stdout")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    def line(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.raw_line())
        return document

    def send(self, command: str, payload: dict[str, Any] | None = None) -> tuple[int, float]:
        """Send a request; its id and when it was sent."""
        assert self.process.stdin is not None
        ident, self.next_id = self.next_id, self.next_id + 1
        data = json.dumps({"id": ident, "command": command, "payload": payload or {}}).encode() + b"\n"
        sent = time.perf_counter()
        self.process.stdin.write(data)
        self.process.stdin.flush()
        return ident, sent

    def wait(self, ident: int, sent: float) -> tuple[float, dict[str, Any]]:
        """Milliseconds from ``sent`` to the answer to ``ident`` read, and the answer."""
        while ident not in self.pending:
            line = self.raw_line()
            read = time.perf_counter()  # the whole line is in: the client's parse is not timed
            answer = json.loads(line)
            if "id" in answer:
                self.pending[answer["id"]] = (read, answer)
        read, answer = self.pending.pop(ident)
        if answer.get("status") != "success":
            raise SystemExit(f"request {ident} failed: {answer}")
        return (read - sent) * 1000, answer

    def call(self, command: str, payload: dict[str, Any] | None = None) -> tuple[float, dict[str, Any]]:
        """Milliseconds from sending to the answer read, and the answer."""
        return self.wait(*self.send(command, payload))

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def _demo(folder: Path) -> Path:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
    environment["PRISM_DATA_DIR"] = str(folder)
    print(f"building the default demo in {folder} (about a minute)", file=sys.stderr)
    subprocess.run([PRISM, "demo", "--no-serve"], check=True, env=environment, stdout=subprocess.DEVNULL)
    return folder


def _verdict(name: str, figure: float) -> str:
    goal = GOALS[name]
    return f"< {goal:g} ms: {'met' if figure < goal else 'NOT met'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="a data directory `prism demo --no-serve` filled")
    parser.add_argument("--runs", type=int, default=200, help="round trips per measure")
    parser.add_argument("--starts", type=int, default=7, help="starts per readiness measure")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="prism-sidecar-bench-"))
    data_dir = work / "data"
    if options.data_dir:
        shutil.copytree(options.data_dir, data_dir)
    else:
        _demo(data_dir)
    load_before = os.getloadavg()[0]

    sidecar = Sidecar(data_dir, MODULE)
    # Let the start-up warm-up (the first look-through flattens every composition) end.
    sidecar.call("get_true_holdings")
    _, positions = sidecar.call("get_positions")
    _, holdings = sidecar.call("get_true_holdings")
    rows: list[tuple[str, str, float, float, str]] = []
    health = [sidecar.call("get_health")[0] for _ in range(options.runs)]
    rows.append(("get_health", "", *_percentiles(health), "health"))
    for command, goal in (("get_dashboard_data", "dashboard"), ("get_true_holdings", "true holdings")):
        cached = [sidecar.call(command, {"portfolioId": 1})[0] for _ in range(options.runs)]
        rows.append((command, "cached", *_percentiles(cached), goal))
        recomputed = []
        for run in range(max(10, options.runs // 10)):
            sidecar.call("set_hive_contribution", {"enabled": run % 2 == 0})  # a commit: the cache is stale
            recomputed.append(sidecar.call(command, {"portfolioId": 1})[0])
        rows.append((command, "after a commit", *_percentiles(recomputed), goal))
    fund = next(p["isin"] for p in positions["data"]["positions"] if p["instrumentType"] == "etf")
    lines = [
        {"isin": h["isin"], "name": h["stock"], "weight": 0.01} for h in holdings["data"]["holdings"][:500] if h["isin"]
    ]
    cold = []
    for _ in range(3):
        sidecar.call("commit_holdings_upload", {"etfIsin": fund, "holdings": lines})
        cold.append(sidecar.call("get_true_holdings")[0])
    rows.append(("get_true_holdings", "after a composition commit", *_percentiles(cold), "true holdings"))
    beside = []
    for _ in range(3):
        sidecar.call("commit_holdings_upload", {"etfIsin": fund, "holdings": lines})
        slow = sidecar.send("get_true_holdings")
        beside += [sidecar.call("get_health")[0] for _ in range(20)]
        sidecar.wait(*slow)
    rows.append(("get_health", "while a look-through is recomputed", *_percentiles(beside), "health"))
    sidecar.stop()

    commands: dict[str, list[str]] = {"python -m prism.sidecar": MODULE, "prism sidecar": [PRISM, "sidecar"]}
    starts: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(options.starts):
        for label, argv in commands.items():
            started = Sidecar(data_dir, argv)
            starts[label].append(started.ready_ms)
            started.stop()
    load_after = os.getloadavg()[0]

    print(
        f"demo: {len(positions['data']['positions'])} positions held, "
        f"{len(holdings['data']['holdings']):,} securities after look-through"
    )
    print(f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} cores")
    print()
    print(f"{'round trip':<52}{'p50 ms':>9}{'p99 ms':>9}   goal (p99)")
    for command, kind, p50, p99, goal in rows:
        label = f"{command} ({kind})" if kind else command
        print(f"{label:<52}{p50:>9.2f}{p99:>9.2f}   {_verdict(goal, p99)}")
    print()
    print(f"{'start to readiness line':<52}{'median':>9}{'worst':>9}   goal (worst)")
    for label, samples in starts.items():
        print(f"{label:<52}{statistics.median(samples):>9.0f}{max(samples):>9.0f}   {_verdict('ready', max(samples))}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
