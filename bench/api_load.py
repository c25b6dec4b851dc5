"""HTTP benchmark: Prism's holdings and transaction routes against a bare Litestar route.

    python bench/api_load.py                 # 1,000 assets, 100,000 transactions (builds once, ~5 min)
    python bench/api_load.py --scale 1       # the default demo size, quicker

Needs `wrk` (Debian: apt-get install wrk), which drives the load from another process
with 32 connections; it is not the bottleneck (it uses one thread and little CPU). Prints:

* `prism serve` start-up: seconds until the port accepts connections;
* GET /api/v1/portfolios/{id}/holdings: requests/s, p50, p99, beside a bare Litestar
  route that returns a precomputed body of the same size (same server, same settings);
* POST /api/v1/transactions (a buy): requests/s, p50, p99;
* the server's resident memory after the load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prism.config import DatabaseSettings
from prism.demo import create_demo_book
from prism.migrations import upgrade
from prism.storage.engine import open_database

console = Console()
BARE_APP = """
import sys
from litestar import Litestar, get
from litestar.response import Response
BODY = open(sys.argv[1], "rb").read()
@get("/bare", sync_to_thread=False)
def bare() -> Response[bytes]:
    return Response(BODY, media_type="application/json")
app = Litestar([bare])
if __name__ == "__main__":
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""
POST_SCRIPT = """
-- Buys of a random euro asset: the projection path of a real write.
local assets = {%s}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
request = function()
  local body = string.format('{"portfolio_id": "%s", "type": "buy", "date": "2026-01-02", "currency": "EUR", '
    .. '"asset_id": "%%s", "quantity": "1", "price": "10"}', assets[math.random(#assets)])
  return wrk.format(nil, nil, nil, body)
end
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing listens on {port}")


def _wrk(
    url: str, *, token: str | None, seconds: int, script: str | None = None, connections: int = 32
) -> dict[str, float]:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", script]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def millis(label: str) -> float:
        found = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", output)
        assert found, output
        value, unit = float(found.group(1)), found.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {"rps": rate, "p50": millis("50"), "p99": millis("99"), "errors": float(non_2xx.group(1)) if non_2xx else 0}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _build(data_dir: Path, scale: float, assets: int | None) -> None:
    database = open_database(DatabaseSettings(url=f"sqlite:///{data_dir / 'prism.db'}", synchronous="NORMAL"))
    await upgrade(database)
    started = time.perf_counter()
    book = await database.write(create_demo_book, scale=scale, assets_count=assets)
    console.print(
        f"built {book.entries:,} transactions of {book.assets:,} assets in {time.perf_counter() - started:.0f} s"
    )
    await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=10.0, help="demo scale (10: 100,000 transactions)")
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--keep", type=Path, help="reuse (or keep) the data folder here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="prism-http-"))
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "prism.db").exists():
        asyncio.run(_build(folder, args.scale, args.assets))
    port = _free_port()
    env = {**os.environ, "PRISM_DATA_DIR": str(folder)}
    server = subprocess.Popen(
        [sys.executable, "-m", "prism.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    bare = None
    try:
        startup = _wait_for(port)
        token = (folder / "api-token").read_text().strip()
        base = f"http://127.0.0.1:{port}/api/v1"
        import httpx

        portfolios = httpx.get(f"{base}/portfolios", headers={"Authorization": f"Bearer {token}"}).json()["items"]
        broker = next(p for p in portfolios if p["name"] == "Broker")
        holdings_url = f"{base}/portfolios/{broker['id']}/holdings"
        body = httpx.get(holdings_url, headers={"Authorization": f"Bearer {token}"}).content
        count = len(json.loads(body)["items"])
        holdings = _wrk(holdings_url, token=token, seconds=args.seconds)
        listed = httpx.get(f"{base}/assets?limit=1000", headers={"Authorization": f"Bearer {token}"}).json()
        euro_assets = ", ".join(f'"{a["id"]}"' for a in listed["items"] if a["currency"] == "EUR")
        script = folder / "post.lua"
        script.write_text(POST_SCRIPT % (euro_assets, token, broker["id"]))
        post_one = _wrk(f"{base}/transactions", token=None, seconds=args.seconds, script=str(script), connections=1)
        posts = _wrk(f"{base}/transactions", token=None, seconds=args.seconds, script=str(script))
        rss = _rss_mb(server.pid)
        body_file = folder / "body.json"
        body_file.write_bytes(body)
        app_file = folder / "bare_app.py"
        app_file.write_text(BARE_APP)
        bare_port = _free_port()
        bare = subprocess.Popen(
            [sys.executable, str(app_file), str(body_file), str(bare_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(bare_port)
        baseline = _wrk(f"http://127.0.0.1:{bare_port}/bare", token=None, seconds=args.seconds)
    finally:
        server.terminate()
        server.wait()
        if bare is not None:
            bare.terminate()
            bare.wait()
    table = Table(title=f"HTTP, 32 connections, {count:,} holdings in the portfolio ({len(body):,} bytes a response)")
    for column in ("measure", "figure", "baseline (bare route, same body)", "ratio"):
        table.add_column(column, justify="left" if column == "measure" else "right")
    table.add_row(
        "GET holdings, requests/s",
        f"{holdings['rps']:,.0f}",
        f"{baseline['rps']:,.0f}",
        f"{holdings['rps'] / baseline['rps']:.2f}x",
    )
    table.add_row(
        "GET holdings, p50 / p99 ms",
        f"{holdings['p50']:.1f} / {holdings['p99']:.1f}",
        f"{baseline['p50']:.1f} / {baseline['p99']:.1f}",
        f"{holdings['p50'] / baseline['p50']:.1f}x the time",
    )
    table.add_row(
        "POST transaction, 1 connection, p50 / p99 ms", f"{post_one['p50']:.1f} / {post_one['p99']:.1f}", "", ""
    )
    table.add_row("POST transaction, 32 connections, requests/s", f"{posts['rps']:,.0f}", "", "")
    table.add_row(
        "POST transaction, 32 connections, p50 / p99 ms",
        f"{posts['p50']:.1f} / {posts['p99']:.1f}",
        "",
        "(writes queue on one writer)",
    )
    errors = holdings["errors"] + post_one["errors"] + posts["errors"]
    table.add_row("non-2xx answers", f"{errors:.0f}", "", "")
    table.add_row("`prism serve` accepting connections", f"{startup:.2f} s", "", "")
    table.add_row("server resident memory after the load", f"{rss:.0f} MB", "", "")
    console.print(table)


if __name__ == "__main__":
    main()
