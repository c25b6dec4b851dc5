"""The commands the shell sends, what answers each, and how failures become error codes.

Every failure is an error answer for its id, never the end of the loop: Prism's
errors map to stable codes (``INVALID_PARAMS`` names the field), anything unexpected
to the command's own failure code (the old sidecar's codes where it had one), logged
with its traceback on stderr. Broker commands (``tr_*``, ``sync_portfolio``) are out
of Prism's scope and answer ``NOT_SUPPORTED``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prism.errors import ConflictError, NotFoundError, PrismError, StorageError, ValidationError
from prism.sidecar import overlap, pipeline, uploads, views
from prism.sidecar.call import Call, Handler
from prism.sidecar.protocol import error_line, success_line

__all__ = ["COMMANDS", "NOT_SUPPORTED", "Command", "answer", "is_broker_command"]

_log = logging.getLogger("prism.sidecar")
NOT_SUPPORTED = "NOT_SUPPORTED"
_BROKER_COMMANDS = frozenset({"sync_portfolio"})


@dataclass(frozen=True, slots=True)
class Command:
    """A command's handler and the code of its unexpected failures."""

    handler: Handler
    failure_code: str = "HANDLER_ERROR"


async def _log_event(call: Call) -> bool:
    """The frontend's log lines go to stderr with the sidecar's own."""
    level = str(call.payload.get("level", "INFO")).upper()
    _log.log(
        logging.getLevelName(level) if level in logging.getLevelNamesMapping() else logging.INFO,
        "frontend: %s",
        call.payload.get("message", ""),
    )
    return True


async def _no_reports(_call: Call) -> list[Any]:
    """Prism keeps no telemetry reports: there are none to show or review."""
    return []


COMMANDS: dict[str, Command] = {
    "get_health": Command(views.get_health),
    "get_engine_health": Command(views.get_health),
    "get_positions": Command(views.get_positions, "POSITIONS_ERROR"),
    "get_dashboard_data": Command(views.get_dashboard_data, "DASHBOARD_ERROR"),
    "get_true_holdings": Command(views.get_true_holdings, "HOLDINGS_ERROR"),
    "get_overlap_analysis": Command(overlap.get_overlap_analysis, "OVERLAP_ERROR"),
    "get_pipeline_report": Command(pipeline.get_pipeline_report, "REPORT_ERROR"),
    "run_pipeline": Command(pipeline.run_pipeline, "PIPELINE_ERROR"),
    "preview_holdings_upload": Command(uploads.preview_holdings_upload, "UPLOAD_PREVIEW_FAILED"),
    "commit_holdings_upload": Command(uploads.commit_holdings_upload, "UPLOAD_COMMIT_FAILED"),
    "upload_holdings": Command(uploads.upload_holdings, "UPLOAD_FAILED"),
    "get_hive_contribution": Command(views.get_hive_contribution),
    "set_hive_contribution": Command(views.set_hive_contribution),
    "log_event": Command(_log_event),
    "get_recent_reports": Command(_no_reports),
    "get_pending_reviews": Command(_no_reports),
}


def is_broker_command(name: str) -> bool:
    """A broker login or sync command (Trade Republic), which Prism does not run."""
    return name.startswith("tr_") or name in _BROKER_COMMANDS


def _code_of(error: PrismError) -> str:
    if isinstance(error, ValidationError):
        return "INVALID_PARAMS"
    if isinstance(error, NotFoundError):
        return "NOT_FOUND"
    if isinstance(error, ConflictError):
        return "CONFLICT"
    if isinstance(error, StorageError):
        return "STORAGE_ERROR"
    return "PRISM_ERROR"


def _message_of(error: PrismError) -> str:
    field = getattr(error, "field", None)
    return f"{field}: {error}" if isinstance(field, str) and field else str(error)


async def answer(call: Call) -> bytes:
    """The response line to ``call``'s request, success or error; never raises (but cancellation)."""
    request = call.request
    if is_broker_command(request.command):
        return error_line(
            request.id,
            NOT_SUPPORTED,
            f"{request.command} is a broker command; Prism does not log in to brokers. "
            "Import your broker's export instead (prism import).",
        )
    command = COMMANDS.get(request.command)
    if command is None:
        return error_line(request.id, "UNKNOWN_COMMAND", f"Unknown command: {request.command}")
    try:
        data = await command.handler(call)
    except PrismError as error:
        _log.info("%s (id %s) refused: %s", request.command, request.id, error)
        return error_line(request.id, _code_of(error), _message_of(error))
    except Exception as error:  # any failure is this request's answer, never the loop's end
        _log.exception("%s (id %s) failed", request.command, request.id)
        return error_line(request.id, command.failure_code, f"{type(error).__name__}: {error}")
    return success_line(request.id, data)
