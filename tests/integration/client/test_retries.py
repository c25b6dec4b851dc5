"""Retries, timeouts and error answers, against a real HTTP server on loopback that answers from a script.

The script lets a test make a server fail the way real ones do (503, 429 with
Retry-After, a slow answer, a refused connection) in a chosen order.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prism.api.routes.imports import ImportIn
from prism.api.schemas import PortfolioIn
from prism.client import (
    AsyncPrismClient,
    Conflict,
    Forbidden,
    PrismClient,
    RateLimited,
    Retries,
    ServerError,
    TransportError,
    UnavailableError,
)

FAST = Retries(attempts=3, backoff=0.01, max_backoff=0.02)
PORTFOLIO = {"id": str(uuid.uuid4()), "name": "Main", "base_currency": "EUR"}


@dataclass
class Answer:
    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Script:
    answers: list[Answer]
    seen: list[str] = field(default_factory=list)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            script.seen.append(f"{self.command} {self.path.split('?')[0]}")
            answer = script.answers.pop(0) if len(script.answers) > 1 else script.answers[0]
            time.sleep(answer.delay)
            payload = b"" if answer.body is None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            kind = "application/problem+json" if answer.status >= 400 else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def scripted() -> Iterator[tuple[str, Script]]:
    script = Script([Answer(200, PORTFOLIO)])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()


def _problem(status: int, code: str) -> dict[str, object]:
    return {"type": f"urn:prism:problem:{code}", "title": code, "status": status, "detail": f"{code} here"}


def test_a_read_is_retried_through_503s_and_then_answers(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:0] = [Answer(503, _problem(503, "storage")), Answer(502, None)]
    with PrismClient(url, "t", retries=FAST) as prism:
        found = prism.portfolios.get(uuid.UUID(PORTFOLIO["id"]))
    assert found.name == "Main"
    assert len(script.seen) == 3


def test_a_plain_post_is_not_retried_after_a_server_error(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:0] = [Answer(503, _problem(503, "storage"))]
    with PrismClient(url, "t", retries=FAST) as prism, pytest.raises(ServerError) as failed:
        prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
    assert isinstance(failed.value, UnavailableError)
    assert script.seen == ["POST /api/v1/portfolios"]


def test_an_import_is_retried_since_resending_it_imports_nothing_twice(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    report = {
        "format": "generic",
        "portfolio_id": PORTFOLIO["id"],
        "dry_run": False,
        "rows": 1,
        "imported": 0,
        "already_imported": 1,
        "skipped": 0,
        "assets_created": 0,
        "by_type": {},
        "problems": [],
        "notes": [],
    }
    script.answers[:] = [Answer(504, None), Answer(201, report)]
    with PrismClient(url, "t", retries=FAST) as prism:
        found = prism.imports.import_file(
            ImportIn(format="generic", portfolio_id=uuid.UUID(PORTFOLIO["id"]), content="date,type\n")
        )
    assert found.already_imported == 1
    assert script.seen == ["POST /api/v1/imports", "POST /api/v1/imports"]


def test_retry_after_is_waited_and_a_lasting_429_is_raised_with_it(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:] = [Answer(429, _problem(429, "too-many-requests"), {"Retry-After": "0.2"})]
    started = time.monotonic()
    with PrismClient(url, "t", retries=Retries(attempts=2)) as prism, pytest.raises(RateLimited) as limited:
        prism.portfolios.list()
    assert time.monotonic() - started >= 0.4
    assert limited.value.retry_after == pytest.approx(0.2)
    assert len(script.seen) == 3


def test_a_retry_after_longer_than_the_patience_is_raised_at_once(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:] = [Answer(429, _problem(429, "too-many-requests"), {"Retry-After": "3600"})]
    with PrismClient(url, "t", retries=FAST) as prism, pytest.raises(RateLimited) as limited:
        prism.portfolios.list()
    assert limited.value.retry_after == 3600
    assert len(script.seen) == 1


def test_a_slow_answer_times_out_as_a_transport_error(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:] = [Answer(200, PORTFOLIO, delay=1.0)]
    with (
        PrismClient(url, "t", timeout=0.2, retries=Retries(attempts=1, backoff=0.01)) as prism,
        pytest.raises(TransportError),
    ):
        prism.portfolios.list()
    assert len(script.seen) == 2


def test_a_refused_connection_is_retried_then_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with PrismClient(f"http://127.0.0.1:{port}", "t", retries=FAST) as prism, pytest.raises(TransportError):
        prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
    assert time.monotonic() - started < 5


def test_problem_details_become_their_exception_class(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:] = [Answer(409, _problem(409, "in-use")), Answer(403, _problem(403, "forbidden"))]
    with PrismClient(url, "t", retries=FAST) as prism:
        with pytest.raises(Conflict) as conflict:
            prism.portfolios.delete(uuid.uuid4())
        with pytest.raises(Forbidden):
            prism.portfolios.delete(uuid.uuid4())
    assert (conflict.value.code, conflict.value.detail) == ("in-use", "in-use here")


def test_the_async_client_retries_the_same_way(scripted: tuple[str, Script]) -> None:
    url, script = scripted
    script.answers[:0] = [Answer(503, None)]

    async def fetch() -> str:
        async with AsyncPrismClient(url, "t", retries=FAST) as prism:
            return (await prism.portfolios.get(uuid.UUID(PORTFOLIO["id"]))).name

    assert asyncio.run(fetch()) == "Main"
    assert len(script.seen) == 2
