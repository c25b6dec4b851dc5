"""Telemetry on: a report reaches the configured endpoint with counts and route timings
and nothing that names the person, their securities or their money. Off: nothing is sent
(tests/integration/test_no_network.py watches every socket of a device that has it off)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
from litestar.testing import AsyncTestClient

from prism.api import create_app
from prism.config import load_settings
from tests.integration.receiver import receiver


async def test_a_report_carries_counts_and_route_timings_and_nothing_personal(
    database_url: str, tmp_path: Path
) -> None:
    with receiver(200) as got:
        env = {"PRISM_TELEMETRY": "on", "PRISM_TELEMETRY_URL": got.url}
        settings = load_settings(env, data_dir=tmp_path, database_url=database_url)
        settings = msgspec.structs.replace(
            settings, telemetry=msgspec.structs.replace(settings.telemetry, interval_seconds=1)
        )
        async with AsyncTestClient(create_app(settings)) as client:
            client.headers["Authorization"] = f"Bearer {settings.token_path.read_text().strip()}"
            made = await client.post("/api/v1/portfolios", json={"name": "Jane's ISA", "base_currency": "EUR"})
            portfolio = made.json()["id"]
            await client.get(f"/api/v1/portfolios/{portfolio}/holdings")
            await client.get("/api/v1/users/jane.doe@example.org/DE0007164600")  # no such route: 404
            for _ in range(50):
                if got.requests:
                    break
                await asyncio.sleep(0.1)
        (headers, body), *_ = got.requests
    text = body.decode()
    for personal in ("Jane", "jane.doe@example.org", "DE0007164600", portfolio):
        assert personal not in text, personal
    report = json.loads(text)
    assert headers["content-type"] == "application/json"
    assert report["portfolios"] == "1-9"
    routes = {(r["route"], r["method"]) for r in report["routes"]}
    assert ("/api/v1/portfolios/{portfolio_id}/holdings", "GET") in routes
    assert all(r["route"].startswith("/api/v1") and "@" not in r["route"] for r in report["routes"])
