"""Bad input, the end of stdin, a killed parent, and a slow command beside health checks."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.integration.sidecar.conftest import MODULE, Sidecar

_TEN_MB = 10 * 1024 * 1024


def test_a_malformed_line_is_answered_with_id_zero_and_the_loop_goes_on(sidecar: Sidecar) -> None:
    sidecar.send_raw(b"{this is not json\n")
    answer = sidecar.read_line()
    assert answer == {
        "id": 0,
        "status": "error",
        "error": {"code": "INVALID_JSON", "message": answer["error"]["message"]},
    }
    assert sidecar.call("get_health")["status"] == "success"


def test_a_line_that_is_not_a_request_object_is_refused(sidecar: Sidecar) -> None:
    sidecar.send_raw(b"[1, 2, 3]\n")
    assert sidecar.read_line()["error"]["code"] == "INVALID_REQUEST"
    sidecar.send_raw(b'{"id": 41, "command": "get_health", "payload": [1]}\n')
    answer = sidecar.read_line()
    assert (answer["id"], answer["error"]["code"]) == (41, "INVALID_PARAMS")
    assert sidecar.call("get_health")["status"] == "success"


def test_an_unknown_command_is_an_error_for_its_id(sidecar: Sidecar) -> None:
    answer = sidecar.call("get_crystal_ball")
    assert answer["status"] == "error"
    assert answer["error"]["code"] == "UNKNOWN_COMMAND"
    assert answer["id"] == sidecar.next_id - 1


@pytest.mark.parametrize("command", ["tr_login", "tr_submit_2fa", "tr_get_auth_status", "sync_portfolio"])
def test_broker_commands_are_not_supported(sidecar: Sidecar, command: str) -> None:
    answer = sidecar.call(command, {"phone": "+490000", "pin": "0000"})
    assert answer["error"]["code"] == "NOT_SUPPORTED"
    assert "broker" in answer["error"]["message"]


def test_bad_parameters_name_the_field_and_keep_serving(sidecar: Sidecar) -> None:
    answer = sidecar.call("get_positions", {"portfolioId": "not-a-portfolio"})
    assert answer["error"]["code"] == "INVALID_PARAMS"
    assert answer["error"]["message"].startswith("portfolioId")
    missing = sidecar.call("preview_holdings_upload", {"etfIsin": "IE00B4L5Y983"})
    assert missing["error"]["code"] == "INVALID_PARAMS"
    assert missing["error"]["message"].startswith("filePath")
    assert sidecar.call("get_health")["status"] == "success"


def test_a_payload_over_ten_megabytes_is_refused_for_its_id(sidecar: Sidecar) -> None:
    filler = "a" * (_TEN_MB + 1)
    sidecar.send_raw(b'{"command": "upload_holdings", "id": 77, "payload": {"x": "' + filler.encode() + b'"}}\n')
    answer = sidecar.read_line()
    assert (answer["id"], answer["status"], answer["error"]["code"]) == (77, "error", "PAYLOAD_TOO_LARGE")
    assert sidecar.call("get_health")["status"] == "success"


def test_a_payload_just_under_the_limit_is_read(sidecar: Sidecar) -> None:
    filler = "a" * (_TEN_MB - 100)
    sidecar.send_raw(b'{"command": "get_health", "id": 78, "payload": {"x": "' + filler.encode() + b'"}}\n')
    answer = sidecar.read_line()
    assert (answer["id"], answer["status"]) == (78, "success")


def test_stdout_carries_only_json_lines(sidecar: Sidecar) -> None:
    for command in ("get_health", "get_positions", "get_dashboard_data", "get_true_holdings", "nope"):
        sidecar.call(command)
    sidecar.close_stdin()
    assert sidecar.process.stdout is not None
    rest = sidecar.process.stdout.read()
    assert sidecar.process.wait(timeout=2) == 0
    assert all(line.startswith(b"{") for line in rest.splitlines())


def test_stdin_eof_ends_the_sidecar_within_a_second(sidecar: Sidecar) -> None:
    assert sidecar.call("get_health")["status"] == "success"
    closed = time.monotonic()
    sidecar.close_stdin()
    sidecar.process.wait(timeout=2)
    assert time.monotonic() - closed < 1.0
    assert sidecar.process.returncode == 0


def test_stdin_eof_during_a_write_finishes_or_rolls_it_back(own_demo_dir: Path) -> None:
    running = Sidecar(own_demo_dir)
    try:
        running.send("set_hive_contribution", {"enabled": True})
        closed = time.monotonic()
        running.close_stdin()
        running.process.wait(timeout=2)
        assert time.monotonic() - closed < 1.0
    finally:
        running.stop()
    with sqlite3.connect(own_demo_dir / "prism.db") as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = Sidecar(own_demo_dir)
    try:
        # Either the write committed whole or it never happened; the store opens either way.
        assert again.call("get_hive_contribution")["data"]["enabled"] in {True, False}
        assert again.call("get_positions")["status"] == "success"
    finally:
        again.stop()


_PARENT = textwrap.dedent(
    """
    import subprocess, sys
    child = subprocess.Popen({command!r})  # inherits stdin, stdout and stderr
    sys.stderr.write(f"child {{child.pid}}\\n")
    sys.stderr.flush()
    child.wait()
    """
)


def test_the_sidecar_ends_within_a_second_when_its_parent_is_killed(demo_dir: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PRISM_")}
    environment["PRISM_DATA_DIR"] = str(demo_dir)
    # The test keeps the stdin pipe open: only the parent's death can end the sidecar.
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT.format(command=MODULE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline().startswith(b'{"status":"ready"')
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=2)
        killed = time.monotonic()
        # stdout reaches EOF once the sidecar, its last holder, has exited.
        fd = parent.stdout.fileno()
        while True:
            left = killed + 1.0 - time.monotonic()
            assert left > 0, "the sidecar outlived its parent by a second"
            readable, _, _ = select.select([fd], [], [], left)
            if readable and not os.read(fd, 1 << 16):
                break
    finally:
        for stream in (parent.stdin, parent.stdout, parent.stderr):
            if stream is not None:
                stream.close()


def test_health_is_answered_while_a_slow_command_runs(demo_dir: Path) -> None:
    running = Sidecar(demo_dir)
    try:
        # Right after start the first look-through flattens every fund composition: slow.
        slow = running.send("get_true_holdings")
        sent = time.monotonic()
        health = running.send("get_health")
        answer, _ = running.answer(health)
        answered = time.monotonic() - sent
        assert answer["status"] == "success"
        assert answered < 0.5
        assert slow not in running.pending, "health waited for the slow command"
        assert running.answer(slow)[0]["status"] == "success"
    finally:
        running.stop()
