"""The cloud topology on one machine, with plain processes and no container engine.

    python deploy/local_cluster.py                    # 3 workers behind a proxy on :8780
    python deploy/local_cluster.py --workers 2 --port 0 --ready-file cluster.json

Brings up what deploy/compose.yaml describes: a PostgreSQL server (pgserver from PyPI,
or ``--database-url`` of one you run), an S3-compatible server (moto's, on loopback) for
the lake, the schema migrated once (as the Kubernetes migration Job does), N Prism
workers in hosted mode (``prism serve --mode hosted``, each its own process), and a small
round-robin TCP proxy in front of them that skips a worker it cannot reach; a worker that
dies is started again on its port a second later (as an orchestrator restarts a pod). When every
worker answers ``/readyz`` it prints one JSON line (proxy URL, workers with their pids
and URLs, database URL, S3 endpoint) and writes it to ``--ready-file``. SIGTERM or Ctrl-C
stops the workers (each finishes its requests), then the S3 server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

S3_KEY, S3_SECRET, BUCKET = "prism-local", "prism-local-secret", "prism-lake"
_WORKER = "import sys\nfrom prism.cli import main\nmain(sys.argv[1:])\n"


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Worker:
    """One Prism process."""

    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def postgres(given: str | None) -> Iterator[str]:
    """A PostgreSQL URL: ``given``, or a pgserver started for the run."""
    if given:
        yield given
        return
    import pgserver  # noqa: PLC0415 - only when no server is given

    # A short path: PostgreSQL's unix socket path must fit in 107 bytes.
    short = Path(tempfile.mkdtemp(prefix="prism-pg-", dir="/tmp"))
    server = pgserver.get_server(short, cleanup_mode="stop")
    try:
        server.psql("CREATE DATABASE prism;")
        uri = server.get_uri("prism")
        yield uri.replace("postgresql://", "postgresql+asyncpg://", 1)
    finally:
        server.cleanup()
        shutil.rmtree(short, ignore_errors=True)


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on loopback with the lake's bucket; its endpoint URL."""
    import logging  # noqa: PLC0415

    import boto3  # noqa: PLC0415
    from moto.server import ThreadedMotoServer  # noqa: PLC0415

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=S3_KEY,
            aws_secret_access_key=S3_SECRET,
        )
        client.create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.stop()


def environment(database_url: str, endpoint: str, data_dir: Path) -> dict[str, str]:
    """The settings every worker shares (as the Kubernetes Deployment's env would give them)."""
    return {
        **os.environ,
        "PRISM_MODE": "hosted",
        "PRISM_DATA_DIR": str(data_dir),
        "PRISM_DATABASE_URL": database_url,
        "PRISM_LAKE_URL": f"s3://{BUCKET}/lake",
        "PRISM_LAKE_S3_ENDPOINT": endpoint,
        "PRISM_LAKE_S3_ACCESS_KEY_ID": S3_KEY,
        "PRISM_LAKE_S3_SECRET_ACCESS_KEY": S3_SECRET,
    }


def migrate(env: dict[str, str]) -> None:
    """Run the migrations once, as the migration Job does before a rollout."""
    subprocess.run([sys.executable, "-c", _WORKER, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)


def start_worker(name: str, env: dict[str, str], folder: Path, *, port: int | None = None) -> Worker:
    """A ``prism serve --mode hosted`` process on ``port`` (default: a free one)."""
    port = port or free_port()
    log = (folder / f"{name}.log").open("ab")
    command = [sys.executable, "-c", _WORKER, "serve", "--mode", "hosted", "--host", "127.0.0.1", "--port", str(port)]
    worker_env = {**env, "PRISM_DATA_DIR": str(folder / name)}
    process = subprocess.Popen(command, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
    return Worker(name, port, process)


def wait_ready(workers: list[Worker], timeout: float = 120) -> None:
    """Until every worker answers ``/readyz`` (or one exits)."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        while True:
            if worker.process.poll() is not None:
                raise SystemExit(f"{worker.name} exited with {worker.process.returncode}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{worker.url}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"{worker.name} was not ready in {timeout:.0f} s")
            time.sleep(0.2)


class Proxy:
    """Round-robin TCP proxy: each connection goes to the next worker that accepts it."""

    def __init__(self, workers: list[Worker]) -> None:
        self._ports = itertools.cycle([w.port for w in workers])
        self._count = len(workers)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(ConnectionError, OSError):
            writer.close()

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        """Connect to the next live worker and copy bytes both ways."""
        for _ in range(self._count):
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", next(self._ports))
            except OSError:
                continue  # a stopped worker: try the next one
            await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
            return
        client_writer.close()


async def supervise(workers: list[Worker], env: dict[str, str], folder: Path) -> None:
    """Start a worker that died again on its port, a second later."""
    while True:
        await asyncio.sleep(1)
        for worker in workers:
            if worker.process.poll() is not None:
                restarted = start_worker(worker.name, env, folder, port=worker.port)
                worker.process = restarted.process
                print(json.dumps({"restarted": worker.name, "pid": worker.process.pid}), flush=True)


async def serve_proxy(
    workers: list[Worker], port: int, announce: dict[str, object], ready_file: Path | None, restart: asyncio.Task[None]
) -> None:
    """Run the proxy until SIGTERM or SIGINT."""
    server = await asyncio.start_server(Proxy(workers).handle, "127.0.0.1", port)
    chosen = server.sockets[0].getsockname()[1]
    announce["url"] = f"http://127.0.0.1:{chosen}"
    line = json.dumps(announce)
    if ready_file is not None:
        staging = ready_file.with_suffix(".tmp")
        staging.write_text(line + "\n")
        staging.replace(ready_file)
    print(line, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()
    restart.cancel()


async def _run(
    workers: list[Worker],
    env: dict[str, str],
    folder: Path,
    *,
    port: int,
    announce: dict[str, object],
    ready: Path | None,
) -> None:
    restart = asyncio.create_task(supervise(workers, env, folder))
    await serve_proxy(workers, port, announce, ready, restart)


def stop_workers(workers: list[Worker]) -> None:
    """SIGTERM each worker (it finishes its requests), SIGKILL one that hangs."""
    for worker in workers:
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=8780, help="the proxy's port (0: any free one)")
    parser.add_argument("--dir", type=Path, default=None, help="folder for logs and worker data (default: a temp one)")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server to use instead of pgserver")
    parser.add_argument("--ready-file", type=Path, default=None)
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="prism-cluster-"))
    folder.mkdir(parents=True, exist_ok=True)
    with postgres(args.database_url) as database_url, s3_server() as endpoint:
        env = environment(database_url, endpoint, folder)
        migrate(env)
        workers = [start_worker(f"worker-{n}", env, folder) for n in range(1, args.workers + 1)]
        try:
            wait_ready(workers)
            announce: dict[str, object] = {
                "workers": [{"name": w.name, "pid": w.process.pid, "url": w.url} for w in workers],
                "database_url": database_url,
                "s3_endpoint": endpoint,
                "logs": str(folder),
            }
            asyncio.run(_run(workers, env, folder, port=args.port, announce=announce, ready=args.ready_file))
        finally:
            stop_workers(workers)


if __name__ == "__main__":
    main()
