"""The sidecar's loop: read requests, answer each on its own task, stop cleanly.

The readiness line goes out first; the handlers and their libraries are then imported
on a worker thread while the loop already answers (health needs none of them).

stdin is read on a daemon thread (any kind of descriptor: pipe, file or terminal) and
handed to the event loop in chunks; each request becomes a task, so a slow command
never delays another (health is answered while a pipeline runs). Answers are written
whole, one line at a time, from the event loop only, so lines never interleave.

The loop ends on stdin EOF, on the parent's death, or on SIGTERM/SIGINT. It then gives
the commands in flight :data:`GRACE_SECONDS` to finish (a ``Database.write`` commits
or rolls back as one transaction; a lake write commits its manifest atomically), then
cancels the rest; whatever a cancelled command had not committed is never visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import signal
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from prism.sidecar.call import Call
from prism.sidecar.health import HEALTH_COMMANDS, health_data
from prism.sidecar.parent import ParentWatch
from prism.sidecar.protocol import (
    Framed,
    LineFramer,
    ProtocolError,
    Request,
    error_line,
    parse_request,
    progress_line,
    ready_line,
    success_line,
)

if TYPE_CHECKING:
    from prism.config import Settings
    from prism.sidecar.services import Services

Answer = Callable[[Call], Awaitable[bytes]]

__all__ = ["GRACE_SECONDS", "serve"]

#: How long commands in flight may run on after the loop was told to stop.
GRACE_SECONDS = 0.6
_CHUNK = 1 << 16
_WARM_COMMANDS = ("get_dashboard_data", "get_true_holdings")
_log = logging.getLogger("prism.sidecar")


class _Output:
    """Whole lines to one descriptor, from the event loop's thread."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.broken = False

    def write(self, line: bytes) -> None:
        if self.broken:
            return
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except BrokenPipeError:
            self.broken = True  # the shell is gone; the loop stops on EOF or the parent watch


def _quiet(_percent: int, _message: str, _phase: str) -> None:
    """Progress of a command nobody asked for is not written."""


def _read_input(fd: int, loop: asyncio.AbstractEventLoop, chunks: asyncio.Queue[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, _CHUNK)
        except OSError:
            data = b""
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is listening
            loop.call_soon_threadsafe(chunks.put_nowait, data)
        if not data:
            return


class _Session:
    """One run of the loop: the handlers being loaded, the services opened, the commands in flight."""

    def __init__(self, settings: Settings, output: _Output, version: str) -> None:
        self.settings = settings
        self.output = output
        self.version = version
        self.started = time.monotonic()
        self.session = uuid.uuid4().hex
        self.loading: asyncio.Future[Any] = asyncio.ensure_future(
            asyncio.to_thread(importlib.import_module, "prism.sidecar.registry")
        )
        self.opening: asyncio.Future[Services] = asyncio.ensure_future(self._open())
        self.running: set[asyncio.Future[None]] = set()
        self.warming = asyncio.ensure_future(self._warm())

    async def _open(self) -> Services:
        await asyncio.shield(self.loading)
        from prism.sidecar.services import open_services  # noqa: PLC0415 - loaded by now

        return await open_services(self.settings)

    async def services(self) -> Services:
        """The opened services (waits while they open)."""
        return await asyncio.shield(self.opening)

    def _call(self, request: Request, progress: Callable[[int, str, str], None]) -> Call:
        return Call(request, self.settings, self.version, self.session, self.started, self.services, progress)

    async def _answer(self, call: Call) -> bytes:
        if call.request.command in HEALTH_COMMANDS:
            return success_line(call.request.id, health_data(self.settings, self.version, self.session, self.started))
        registry = await asyncio.shield(self.loading)
        answer: Answer = registry.answer
        return await answer(call)

    async def _warm(self) -> None:
        # The shell asks for these first; the first look-through after start flattens
        # the fund compositions (about a second at demo scale): do it before it asks.
        for name in _WARM_COMMANDS:
            await self._answer(self._call(Request(0, name, {}), _quiet))

    async def _run(self, call: Call) -> None:
        self.output.write(await self._answer(call))

    def start(self, framed: Framed) -> None:
        """Answer one line: at once if it is unusable, else on a task of its own."""
        try:
            request = parse_request(framed)
        except ProtocolError as error:
            self.output.write(error_line(error.request_id, error.code, error.message))
            return
        if request is None:
            return
        ident, output = request.id, self.output

        def progress(percent: int, message: str, phase: str) -> None:
            output.write(progress_line(percent, message, phase, ident))

        task = asyncio.ensure_future(self._run(self._call(request, progress)))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def finish(self) -> None:
        """Let commands in flight finish for a moment, cancel the rest, close the services."""
        self.warming.cancel()
        if self.running:
            _, late = await asyncio.wait(set(self.running), timeout=GRACE_SECONDS)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=0.1)
        opening = self.opening
        if opening.done() and not opening.cancelled() and opening.exception() is None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(opening.result().close(), timeout=0.2)
        else:
            opening.cancel()


async def serve(settings: Settings, *, input_fd: int, output_fd: int, version: str) -> None:
    """Serve the shell until stdin ends, the parent dies, or a signal asks to stop."""
    output = _Output(output_fd)
    watch = ParentWatch()
    output.write(ready_line(version, os.getpid()))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(number, stop.set)
    session = _Session(settings, output, version)
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    threading.Thread(target=_read_input, args=(input_fd, loop, chunks), name="sidecar-stdin", daemon=True).start()
    framer = LineFramer()
    ended = asyncio.ensure_future(stop.wait())
    parent_gone = asyncio.ensure_future(watch.gone())
    try:
        while True:
            reading = asyncio.ensure_future(chunks.get())
            done, _ = await asyncio.wait({reading, ended, parent_gone}, return_when=asyncio.FIRST_COMPLETED)
            if reading not in done:
                reading.cancel()
                _log.info("stopping: %s", "the parent process died" if parent_gone in done else "a signal")
                break
            chunk = reading.result()
            if not chunk:
                last = framer.end()
                if last is not None:
                    session.start(last)
                _log.info("stopping: stdin closed")
                break
            for framed in framer.feed(chunk):
                session.start(framed)
    finally:
        ended.cancel()
        parent_gone.cancel()
        await session.finish()
