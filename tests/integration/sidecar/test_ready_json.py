"""``prism serve --port 0 --ready-json``: one JSON line once serving, and gone with its parent."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

from tests.integration.sidecar.conftest import PRISM

_PARENT = textwrap.dedent(
    """
    import subprocess, sys
    subprocess.Popen({command!r}).wait()  # inherits stdin, stdout and stderr
    """
)


def _eof_within(fd: int, seconds: float) -> bytes:
    """Everything read from ``fd`` until EOF; fails if EOF does not come in time."""
    deadline = time.monotonic() + seconds
    read = b""
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "the server outlived its parent"
        readable, _, _ = select.select([fd], [], [], left)
        if readable:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return read
            read += chunk


def test_the_ready_line_names_a_serving_port_and_the_server_stops_with_its_parent(demo_dir: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
    environment["PRISM_DATA_DIR"] = str(demo_dir)
    command = [PRISM, "serve", "--port", "0", "--ready-json"]
    parent = subprocess.Popen(  # the test holds stdin open: only the parent's death can stop it
        [sys.executable, "-c", _PARENT.format(command=command)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=environment,
    )
    try:
        assert parent.stdout is not None
        ready = json.loads(parent.stdout.readline())
        assert set(ready) == {"status", "port", "pid", "version", "url", "tokenFile"}
        assert ready["status"] == "ready"
        assert ready["port"] > 0
        assert ready["url"] == f"http://127.0.0.1:{ready['port']}/api/v1"
        token = Path(ready["tokenFile"]).read_text().strip()
        request = urllib.request.Request(ready["url"] + "/holdings", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
            assert json.loads(response.read())["items"]
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=2)
        # Nothing but the line on stdout, and EOF once the server (its last holder) exits.
        assert _eof_within(parent.stdout.fileno(), 2.0) == b""
    finally:
        for stream in (parent.stdin, parent.stdout):
            if stream is not None:
                stream.close()
