"""A real HTTP receiver for webhook tests: a threaded ``http.server`` on loopback that
records every request and answers with the status codes it is told, in order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    """What the receiver got, and what it answers next (the last status repeats)."""

    statuses: list[int] = field(default_factory=lambda: [200])
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)
    url: str = ""


@contextmanager
def receiver(*statuses: int) -> Iterator[Received]:
    """Serve on a free loopback port while the block runs."""
    got = Received(list(statuses) or [200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            status = got.statuses.pop(0) if len(got.statuses) > 1 else got.statuses[0]
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            got.arrived.set()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()
