"""Routing and error answers that need no store: unknown and broker commands, bad parameters."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

from prism.config import load_settings
from prism.sidecar.call import Call
from prism.sidecar.parent import ParentWatch
from prism.sidecar.protocol import Request
from prism.sidecar.registry import COMMANDS, answer, is_broker_command


async def _no_store() -> NoReturn:
    raise AssertionError("this answer must not need the store")


def _answer(command: str, payload: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    call = Call(
        Request(7, command, payload),
        load_settings({}, data_dir=tmp_path),
        "0.1.0",
        "session",
        time.monotonic(),
        _no_store,
        lambda percent, message, phase: None,
    )
    document: dict[str, Any] = json.loads(asyncio.run(answer(call)))
    return document


@pytest.mark.parametrize("command", ["tr_login", "tr_logout", "tr_restore_session", "sync_portfolio"])
def test_broker_commands_answer_not_supported(command: str, tmp_path: Path) -> None:
    assert is_broker_command(command)
    found = _answer(command, {}, tmp_path)
    assert (found["id"], found["status"], found["error"]["code"]) == (7, "error", "NOT_SUPPORTED")


def test_an_unknown_command_answers_unknown_command(tmp_path: Path) -> None:
    found = _answer("get_everything", {}, tmp_path)
    assert found["error"] == {"code": "UNKNOWN_COMMAND", "message": "Unknown command: get_everything"}


def test_a_validation_error_answers_invalid_params_naming_the_field(tmp_path: Path) -> None:
    found = _answer("set_hive_contribution", {"enabled": "yes"}, tmp_path)
    assert found["error"]["code"] == "INVALID_PARAMS"
    assert found["error"]["message"].startswith("enabled: ")


def test_health_answers_without_the_store(tmp_path: Path) -> None:
    found = _answer("get_health", {}, tmp_path)
    assert found["status"] == "success"
    assert found["data"]["dataDir"] == str(tmp_path)


def test_every_command_of_the_shell_is_served_or_refused_as_a_broker_command() -> None:
    shell = {
        "get_health", "get_engine_health", "get_dashboard_data", "get_positions", "get_true_holdings",
        "get_pipeline_report", "upload_holdings", "preview_holdings_upload", "commit_holdings_upload",
        "run_pipeline", "set_hive_contribution", "get_hive_contribution", "log_event", "get_recent_reports",
        "get_pending_reviews", "tr_get_auth_status", "tr_check_saved_session", "tr_restore_session",
        "tr_get_stored_credentials", "tr_login", "tr_submit_2fa", "tr_logout", "sync_portfolio",
    }  # fmt: skip
    assert {name for name in shell if not is_broker_command(name)} <= set(COMMANDS)


def test_a_watch_sees_its_parent_alive_and_a_foreign_parent_as_gone() -> None:
    assert ParentWatch().alive()
    other = ParentWatch(parent_pid=os.getppid() + 1)
    assert not other.alive()
    asyncio.run(asyncio.wait_for(other.gone(interval=0.01), timeout=1))
