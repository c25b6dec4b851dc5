"""The two server shapes the wake-up benchmarks compare, each brought up and torn down:
one process on a SQLite file, and two replicas on one throwaway PostgreSQL (pgserver)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from prism.config import normalize_database_url

__all__ = ["Start", "each_shape"]

#: Starts a server on a database URL with its data in a folder: (process, base URL).
Start = Callable[[str, Path], tuple[subprocess.Popen[bytes], str]]


def _stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
        process.wait()


def each_shape(folder: Path, start: Start) -> Iterator[tuple[str, str, str]]:
    """``(shape, first URL, second URL)``: the write goes to the first, the waiter to the second."""
    single, url = start(f"sqlite:///{folder / 'prism.db'}", folder / "sqlite")
    try:
        yield "one process, SQLite", url, url
    finally:
        _stop(single)
    import pgserver

    server = pgserver.get_server(folder / "pg", cleanup_mode="stop")
    try:
        pg_url = normalize_database_url(server.get_uri())
        first, url_1 = start(pg_url, folder / "one")
        second, url_2 = start(pg_url, folder / "two")
        try:
            yield "two replicas, PostgreSQL", url_1, url_2
        finally:
            _stop(first, second)
    finally:
        server.cleanup()
