"""Stopping a server: a held change-feed request is answered at once, not cut off."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx

from tests.integration.test_graceful_shutdown import _start


async def test_sigterm_answers_a_held_change_feed_request(tmp_path: Path) -> None:
    process, url = _start(tmp_path)
    try:
        token = (tmp_path / "data" / "api-token").read_text().strip()
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
            cursor = (await http.get("/api/v1/changes", params={"after": "latest"})).json()["next_cursor"]
            held = asyncio.create_task(http.get("/api/v1/changes", params={"after": cursor, "wait": "50"}))
            await asyncio.sleep(1.0)  # the request is held now
            stopped = time.monotonic()
            process.send_signal(signal.SIGTERM)
            answer = await asyncio.wait_for(held, timeout=8)
            assert answer.status_code == 200
            assert answer.json() == {"items": [], "next_cursor": cursor}
            assert time.monotonic() - stopped < 5
        assert await asyncio.to_thread(process.wait, 20) in {0, -signal.SIGTERM}
    finally:
        if process.poll() is None:
            process.kill()
