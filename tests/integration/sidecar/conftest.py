"""Driving ``prism sidecar`` as the desktop shell does: a child process, JSON lines both ways.

The demo data directory is built once per session with ``prism demo --scale 0.05``
(about 10 assets held, the full generated market in the lake); a test that writes gets
its own copy.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PRISM = str(Path(sys.executable).with_name("prism"))
#: The module form starts without the ``prism`` command's own imports (faster readiness).
MODULE = [sys.executable, "-m", "prism.sidecar"]
FIXTURES = Path(__file__).parents[2] / "fixtures" / "sidecar"


#: Keys whose values are part of the contract, kept as they are in a shape.
LITERAL_KEYS = frozenset({"status", "code", "event", "phase", "instrumentType", "resolutionStatus"})


def shape_of(value: Any) -> Any:
    """A JSON value with every leaf replaced by its JSON type (a list by its first item's shape).

    The values of :data:`LITERAL_KEYS` stay as they are: they are what the shell and the
    frontend switch on.
    """
    if isinstance(value, dict):
        return {
            key: item if key in LITERAL_KEYS and isinstance(item, str) else shape_of(item)
            for key, item in sorted(value.items())
        }
    if isinstance(value, list):
        return [shape_of(value[0])] if value else []
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null"


class Sidecar:
    """One sidecar child process with the shell's view of it: lines in, lines out."""

    def __init__(self, data_dir: Path, command: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
        environment.update({"PRISM_DATA_DIR": str(data_dir), **(env or {})})
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command or MODULE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=environment,
        )
        self._buffer = b""
        self.next_id = 1
        self.pending: dict[int, dict[str, Any]] = {}
        self.ready = self.read_line(timeout=30)
        self.ready_after = time.monotonic() - self.started

    def read_line(self, timeout: float = 30) -> dict[str, Any]:
        """The next stdout line, parsed; fails if it is not JSON or does not come in time."""
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            assert left > 0, "no line from the sidecar in time"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 20)
                assert chunk, f"the sidecar closed stdout; stderr: {self.stderr_tail()}"
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        document: dict[str, Any] = json.loads(line)
        return document

    def send_raw(self, data: bytes) -> None:
        """Write bytes to the sidecar's stdin as they are."""
        assert self.process.stdin is not None
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def send(self, command: str, payload: dict[str, Any] | None = None) -> int:
        """Send one request; its id."""
        ident, self.next_id = self.next_id, self.next_id + 1
        self.send_raw(json.dumps({"id": ident, "command": command, "payload": payload or {}}).encode() + b"\n")
        return ident

    def answer(self, ident: int, timeout: float = 30) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The answer to ``ident`` and the progress events read before it (other answers are kept)."""
        events: list[dict[str, Any]] = []
        while True:
            found = self.pending.pop(ident, None)
            if found is not None:
                return found, events
            line = self.read_line(timeout)
            if "event" in line:
                events.append(line)
            elif line.get("id") == ident:
                return line, events
            else:
                self.pending[line["id"]] = line

    def call(self, command: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a request and wait for its answer."""
        return self.answer(self.send(command, payload))[0]

    def close_stdin(self) -> None:
        """What the shell does when it quits."""
        assert self.process.stdin is not None
        self.process.stdin.close()

    def stderr_tail(self) -> str:
        """The last of the sidecar's log (only once it has exited)."""
        if self.process.poll() is None or self.process.stderr is None:
            return "(still running)"
        return self.process.stderr.read().decode(errors="replace")[-2000:]

    def stop(self) -> None:
        """End the process (stdin EOF, then a kill if it lingers)."""
        if self.process.poll() is None:
            if self.process.stdin is not None and not self.process.stdin.closed:
                self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo data directory, built once (read-only for the tests that share it)."""
    folder = tmp_path_factory.mktemp("sidecar-demo")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
    environment["PRISM_DATA_DIR"] = str(folder)
    subprocess.run(
        [PRISM, "demo", "--scale", "0.05", "--no-serve"],
        check=True,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # Migrate once here, so the sidecars the tests start find an up-to-date file.
    subprocess.run([PRISM, "db", "upgrade"], check=True, env=environment, capture_output=True)
    return folder


@pytest.fixture
def own_demo_dir(demo_dir: Path, tmp_path: Path) -> Path:
    """A copy of the demo directory this test may write to."""
    target = tmp_path / "demo"
    shutil.copytree(demo_dir, target)
    return target


@pytest.fixture
def sidecar(demo_dir: Path) -> Iterator[Sidecar]:
    """A sidecar over the shared demo directory (reads only)."""
    running = Sidecar(demo_dir)
    yield running
    running.stop()


@pytest.fixture
def writable_sidecar(own_demo_dir: Path) -> Iterator[Sidecar]:
    """A sidecar over a copy of the demo directory."""
    running = Sidecar(own_demo_dir)
    yield running
    running.stop()


def golden(name: str) -> Any:
    """A stored transcript of expected shapes."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))
