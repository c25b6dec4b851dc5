"""Schema-driven fuzzing: schemathesis sends what the OpenAPI spec allows (and a lot
it barely allows) to every operation of a real server; nothing may answer 5xx.

Runs a real uvicorn server on loopback over each database; every route in the spec
is fuzzed, including routes later issues add.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings

from prism.api import create_app
from prism.config import load_settings

EXAMPLES_PER_OPERATION = 15


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A device server on a free loopback port: (base URL, token)."""
    config = load_settings({}, data_dir=tmp_path, database_url=database_url)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", config.token_path.read_text().strip()
    server.should_exit = True
    thread.join(timeout=30)


def test_no_operation_answers_a_server_error(served: tuple[str, str]) -> None:
    base, token = served
    schema = schemathesis.openapi.from_url(f"{base}/schema/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        @given(operation.as_strategy())
        def call(case: schemathesis.Case) -> None:
            response = case.call(base_url=base, headers={"Authorization": f"Bearer {token}"})
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r}: {response.text[:300]}")

        call()
    assert failures == []
