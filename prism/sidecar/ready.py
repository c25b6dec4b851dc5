"""``prism serve --ready-json``: the HTTP API for shells that start it and read one line.

The socket is bound before the server starts, so ``--port 0`` lets the system choose a
free port and the line can name it. The line is written only once the server accepts
connections: ``{"status": "ready", "port", "pid", "version", "url", "tokenFile"}``; it is
the only thing on stdout. The server stops (gracefully, as on SIGTERM) when the process
that started it dies (:class:`~prism.sidecar.parent.ParentWatch`).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from typing import Any

import msgspec

from prism import __version__
from prism.config import Settings
from prism.sidecar.parent import ParentWatch

__all__ = ["bind", "ready_document", "run_ready_json"]

_STARTED_POLL = 0.01


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host``:``port`` (0: a free port the system picks)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def ready_document(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """What the readiness line says."""
    shown = f"[{host}]" if ":" in host else host
    return {
        "status": "ready",
        "port": port,
        "pid": os.getpid(),
        "version": __version__,
        "url": f"http://{shown}:{port}/api/v1",
        "tokenFile": str(settings.token_path),
    }


async def _serve(server: Any, sock: socket.socket, settings: Settings) -> None:
    watch = ParentWatch()
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    while not server.started:
        if serving.done():
            await serving  # it failed to start: its error, not a readiness line
            return
        await asyncio.sleep(_STARTED_POLL)
    port = sock.getsockname()[1]
    sys.stdout.buffer.write(msgspec.json.encode(ready_document(settings, settings.server.host, port)) + b"\n")
    sys.stdout.flush()
    parent_gone = asyncio.ensure_future(watch.gone())
    await asyncio.wait({serving, parent_gone}, return_when=asyncio.FIRST_COMPLETED)
    if not serving.done():
        server.should_exit = True
        await serving
    parent_gone.cancel()


def run_ready_json(app: Any, settings: Settings) -> None:
    """Serve ``app`` on the configured host and port, announcing readiness with one JSON line."""
    import uvicorn  # noqa: PLC0415 - only serving needs it

    sock = bind(settings.server.host, settings.server.port)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, access_log=False))
    try:
        asyncio.run(_serve(server, sock, settings))
    finally:
        sock.close()
