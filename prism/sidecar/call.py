"""What a command handler is given: its request, the services, and a way to report progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prism.config import Settings
from prism.sidecar.protocol import Request

if TYPE_CHECKING:
    from prism.sidecar.services import Services

__all__ = ["Call", "Handler"]


@dataclass(frozen=True, slots=True)
class Call:
    """One command being answered."""

    request: Request
    settings: Settings
    version: str
    session_id: str
    started: float  # time.monotonic() when the sidecar started
    open_services: Callable[[], Awaitable[Services]]
    progress: Callable[[int, str, str], None]  # (percent, message, phase)

    @property
    def payload(self) -> dict[str, Any]:
        """The request's payload (an object; empty when none was sent)."""
        return self.request.payload

    @staticmethod
    def today() -> dt.date:
        """The day analytics are asked for (UTC)."""
        return dt.datetime.now(dt.UTC).date()


Handler = Callable[[Call], Awaitable[Any]]
