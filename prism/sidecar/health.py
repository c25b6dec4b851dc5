"""``get_health``: answered from the process alone, so it never waits for the store or a command."""

from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any

from prism.config import Settings

__all__ = ["HEALTH_COMMANDS", "health_data"]

#: The names the shell's versions used for the health check.
HEALTH_COMMANDS = frozenset({"get_health", "get_engine_health"})


def _memory_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)


def health_data(settings: Settings, version: str, session_id: str, started: float) -> dict[str, Any]:
    """Version, peak memory, uptime and where the data lives (the old ``EngineHealth`` shape)."""
    uptime = round(time.monotonic() - started, 1)
    return {
        "version": version,
        "sessionId": session_id,
        "memoryUsageMb": _memory_mb(),
        "uptime": uptime,
        "uptimeSeconds": uptime,
        "dbPath": str(settings.database.sqlite_path or settings.data_dir),
        "dataDir": str(settings.data_dir),
        "pid": os.getpid(),
    }
