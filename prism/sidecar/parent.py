"""Noticing that the process which started the sidecar has died.

A shell killed outright (SIGKILL, a crash) closes no pipe of its own accord when other
processes share it, and sends nothing: the only sign is that the sidecar has been
re-parented (to init or a subreaper). Polling ``getppid`` every 100 ms costs nothing
measurable and works on Linux and macOS alike.
"""

from __future__ import annotations

import asyncio
import os

__all__ = ["POLL_SECONDS", "ParentWatch"]

POLL_SECONDS = 0.1


class ParentWatch:
    """Watches the parent the process had when this was made."""

    def __init__(self, parent_pid: int | None = None) -> None:
        self.parent_pid = os.getppid() if parent_pid is None else parent_pid

    def alive(self) -> bool:
        """False once the process has been re-parented (its parent died)."""
        return os.getppid() == self.parent_pid

    async def gone(self, interval: float = POLL_SECONDS) -> None:
        """Return once the parent has died."""
        loop = asyncio.get_running_loop()
        died = asyncio.Event()
        timer: list[asyncio.TimerHandle] = []

        def check() -> None:
            if self.alive():
                timer[:] = [loop.call_later(interval, check)]
            else:
                died.set()

        check()
        try:
            await died.wait()
        finally:
            for handle in timer:
                handle.cancel()
