"""The shell's wire format: newline-delimited JSON over stdin and stdout.

The first line the sidecar writes is the readiness line ``{"status": "ready", "version",
"pid"}``. Each request is one line ``{"id", "command", "payload"}``; each answer is one
line ``{"id", "status": "success", "data"}`` or ``{"id", "status": "error", "error":
{"code", "message"}}``; long commands also write ``{"event": "sync_progress", "data"}``
lines. The shell's id is an unsigned integer (Rust ``u64``): an answer to a line whose id
could not be read carries id 0, as the old sidecar did.

Nothing here does I/O: :class:`LineFramer` cuts bytes into lines and refuses a line
over :data:`MAX_LINE_BYTES` without ever holding more than that (plus a small head kept
to find its id), and the ``*_line`` functions encode with exact decimals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec

__all__ = [
    "MAX_LINE_BYTES",
    "Framed",
    "LineFramer",
    "ProtocolError",
    "Request",
    "error_line",
    "parse_request",
    "progress_line",
    "ready_line",
    "success_line",
]

#: The shell's payload cap: a request line longer than this is refused, not parsed.
MAX_LINE_BYTES = 10 * 1024 * 1024
#: How much of a refused line is kept to find its id in.
_HEAD_BYTES = 4096
_ID_IN_HEAD = re.compile(rb'"id"\s*:\s*(\d{1,20})\b')
_MAX_ID = 2**64 - 1


# Decimals are written as JSON numbers with their exact digits (never through a float):
# the frontend's schemas want numbers, so any rounding happens in its JSON.parse only.
_ENCODER = msgspec.json.Encoder(decimal_format="number")
# Numbers with a fraction arrive as Decimal, exactly as written (never through a float).
_DECODER = msgspec.json.Decoder(float_hook=Decimal)


class ProtocolError(Exception):
    """A request line the sidecar cannot act on; ``code`` is the error code answered."""

    def __init__(self, code: str, message: str, request_id: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed request."""

    id: int
    command: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Framed:
    """One line cut from the input: its bytes, or (``too_long``) the head of a refused one."""

    data: bytes
    too_long: bool = False


@dataclass(slots=True)
class LineFramer:
    """Cuts a byte stream into lines; a line over ``limit`` comes out as ``too_long``.

    A refused line is dropped as it streams in (only its first bytes are kept, to
    answer with its id), so memory stays bounded by ``limit`` whatever the input.
    """

    limit: int = MAX_LINE_BYTES
    _buffer: bytearray = field(default_factory=bytearray)
    _discarding: bool = False
    _head: bytes = b""

    def feed(self, chunk: bytes) -> Iterator[Framed]:
        """The complete lines ``chunk`` finishes, in order."""
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                self._take(chunk[start:])
                return
            self._take(chunk[start:end])
            start = end + 1
            yield self._finish()

    def _take(self, piece: bytes) -> None:
        if self._discarding:
            return
        self._buffer += piece
        if len(self._buffer) > self.limit:
            self._head = bytes(self._buffer[:_HEAD_BYTES])
            self._buffer = bytearray()
            self._discarding = True

    def _finish(self) -> Framed:
        if self._discarding:
            head, self._head, self._discarding = self._head, b"", False
            return Framed(head, too_long=True)
        line = bytes(self._buffer)
        self._buffer = bytearray()
        return Framed(line)

    def end(self) -> Framed | None:
        """At end of input: the last line if it had no newline (None if nothing is pending)."""
        if self._discarding or self._buffer:
            return self._finish()
        return None


def _id_in(head: bytes) -> int:
    found = _ID_IN_HEAD.search(head)
    if found is None:
        return 0
    value = int(found.group(1))
    return value if value <= _MAX_ID else 0


def parse_request(framed: Framed) -> Request | None:
    """The request on one line (None for a blank line); :class:`ProtocolError` if unusable."""
    if framed.too_long:
        raise ProtocolError(
            "PAYLOAD_TOO_LARGE", f"the request is over the {MAX_LINE_BYTES:,}-byte limit", _id_in(framed.data)
        )
    if not framed.data.strip():
        return None
    try:
        document = _DECODER.decode(framed.data)
    except msgspec.DecodeError as error:
        raise ProtocolError(
            "INVALID_JSON", f"the line is not JSON: {error}", _id_in(framed.data[:_HEAD_BYTES])
        ) from None
    if not isinstance(document, dict):
        raise ProtocolError("INVALID_REQUEST", "a request is a JSON object {id, command, payload}")
    ident = document.get("id", 0)
    if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= _MAX_ID:
        raise ProtocolError("INVALID_REQUEST", "id must be an unsigned integer")
    command = document.get("command")
    if not isinstance(command, str) or not command:
        raise ProtocolError("INVALID_REQUEST", "command must be a non-empty string", ident)
    payload = document.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("INVALID_PARAMS", "payload must be a JSON object", ident)
    return Request(ident, command, payload)


def _line(document: dict[str, Any]) -> bytes:
    return _ENCODER.encode(document) + b"\n"


def ready_line(version: str, pid: int) -> bytes:
    """The first line the sidecar writes."""
    return _line({"status": "ready", "version": version, "pid": pid})


def success_line(request_id: int, data: Any) -> bytes:
    """The answer to a request that succeeded."""
    return _line({"id": request_id, "status": "success", "data": data})


def error_line(request_id: int, code: str, message: str) -> bytes:
    """The answer to a request that failed."""
    return _line({"id": request_id, "status": "error", "error": {"code": code, "message": message}})


def progress_line(progress: int, message: str, phase: str, request_id: int) -> bytes:
    """A progress event of a long command (the shell forwards ``sync_progress`` to the frontend)."""
    return _line(
        {
            "event": "sync_progress",
            "data": {"progress": progress, "message": message, "phase": phase, "commandId": request_id},
        }
    )
