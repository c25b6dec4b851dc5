"""The cloud topology on one machine (deploy/local_cluster.py): PostgreSQL, an S3 server,
the schema migrated once, two hosted workers behind the proxy; smoke-tested end to end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "local_cluster.py"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    folder = tmp_path_factory.mktemp("cluster")
    ready = folder / "ready.json"
    command = [sys.executable, str(SCRIPT), "--workers", "2", "--port", "0", "--dir", str(folder / "run")]
    process = subprocess.Popen([*command, "--ready-file", str(ready)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not ready.exists():
        assert process.poll() is None, process.stderr.read().decode()[-3000:] if process.stderr else ""
        assert time.monotonic() < deadline, "the cluster did not come up"
        time.sleep(0.2)
    found = json.loads(ready.read_text())
    found["process"] = process
    yield found
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def test_an_account_made_through_the_proxy_is_served_by_every_worker(cluster: dict[str, Any]) -> None:
    with httpx.Client(base_url=cluster["url"], timeout=30) as proxy:
        account = {"email": "ops@example.org", "password": "correct horse battery"}
        signed = proxy.post("/api/v1/auth/signup", json=account)
        assert signed.status_code == 201, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['token']}"}
        made = proxy.post("/api/v1/portfolios", json={"name": "Main", "base_currency": "EUR"}, headers=headers)
        assert made.status_code == 201, made.text
    for worker in cluster["workers"]:  # no worker keeps state another would need
        listed = httpx.get(f"{worker['url']}/api/v1/portfolios", headers=headers, timeout=30)
        assert [p["name"] for p in listed.json()["items"]] == ["Main"], listed.text


def test_the_proxy_serves_on_when_a_worker_is_killed_and_the_worker_comes_back(cluster: dict[str, Any]) -> None:
    first = cluster["workers"][0]
    os.kill(first["pid"], signal.SIGKILL)
    with httpx.Client(base_url=cluster["url"], timeout=30) as proxy:
        answers = [proxy.get("/readyz").status_code for _ in range(6)]
    assert answers == [200] * 6
    deadline = time.monotonic() + 60
    while True:  # started again on its port, as an orchestrator restarts a pod
        try:
            if httpx.get(f"{first['url']}/readyz", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the killed worker did not come back"
        time.sleep(0.2)


def test_the_cluster_stops_on_sigterm(cluster: dict[str, Any]) -> None:
    process: subprocess.Popen[bytes] = cluster["process"]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0
    for worker in cluster["workers"]:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{worker['url']}/healthz", timeout=5)
