"""Drives a device server from inside the test's network namespace until each of its
background jobs has had a turn, then prints what it saw as one JSON line.

``python -m tests.integration.isolated_client URL TOKEN_FILE [EXTRA_HOOK_URL]``

* the webhook deliverer delivers a change to a receiver on loopback (and, given
  ``EXTRA_HOOK_URL``, tries that one too: the control's way to make the server reach out);
* a price import evaluates the alert rules and sets one off;
* the backup schedule (a local folder repository, a one-second interval) takes a snapshot.

Any failure exits non-zero with the reason on stderr.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.integration.receiver import receiver

__all__ = ["main"]

WORLD = "IE00B4L5Y983"


def _until(what: str, seconds: float, check: Any) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(0.1)
    return found


def _healthy(http: httpx.Client) -> bool:
    try:
        return http.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


def _made(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    if response.status_code != 201:
        raise SystemExit(f"POST {path}: {response.status_code} {response.text}")
    found: dict[str, Any] = response.json()
    return found


def main(argv: list[str]) -> None:
    url, token_file, *extra = argv
    # trust_env off: a proxy from the environment would be unreachable from here anyway.
    with httpx.Client(base_url=url, timeout=30, trust_env=False) as http, receiver(200) as got:
        _until("the server", 30, lambda: _healthy(http))
        http.headers["Authorization"] = f"Bearer {Path(token_file).read_text().strip()}"
        hooks = [_made(http, "/api/v1/webhooks", {"url": got.url, "scopes": ["read:portfolio"]})]
        hooks += [_made(http, "/api/v1/webhooks", {"url": u, "scopes": ["read:portfolio"]}) for u in extra]
        portfolio = _made(http, "/api/v1/portfolios", {"name": "Isolated", "base_currency": "EUR"})
        deposit = {"portfolio_id": portfolio["id"], "type": "deposit", "date": "2024-01-02", "currency": "EUR"}
        _made(http, "/api/v1/transactions", {**deposit, "amount": "1000"})
        asset = _made(http, "/api/v1/assets", {"isin": WORLD, "name": "World", "kind": "etf", "currency": "EUR"})
        _made(http, "/api/v1/alert-rules", {"condition": "price_above", "threshold": "100", "asset_id": asset["id"]})
        rows = [
            {"isin": WORLD, "date": d, "close": c, "currency": "EUR"}
            for d, c in (("2024-03-01", "90"), ("2024-03-04", "110"))
        ]
        imported = _made(http, "/api/v1/market/prices", {"rows": rows})
        read = ("/api/v1/holdings", "/api/v1/portfolios", "/api/v1/transactions?limit=5", "/api/v1/market/prices")
        statuses = {path: http.get(path).status_code for path in (*read, "/api/v1/alerts", "/api/v1/webhooks")}
        _until("a webhook delivery", 15, lambda: got.requests)
        attempted = {
            hook["url"]: _until(f"an attempt at {hook['url']}", 15, lambda h=hook: _attempts(http, h["id"]))
            for hook in hooks
        }
        backup = _until("a scheduled backup", 20, lambda: _backed_up(http))
    print(
        json.dumps(
            {
                "statuses": statuses,
                "alerts_triggered": imported["alerts_triggered"],
                "delivered": len(got.requests),
                "attempts": attempted,
                "backup": backup,
            }
        )
    )


def _attempts(http: httpx.Client, hook_id: str) -> list[dict[str, Any]]:
    items = http.get(f"/api/v1/webhooks/{hook_id}/deliveries").json()["items"]
    return [attempt for item in items for attempt in item["attempts"]]


def _backed_up(http: httpx.Client) -> dict[str, Any] | None:
    status: dict[str, Any] = http.get("/api/v1/backup/status").json()
    return status if status.get("last_success_at") or status.get("last_error") else None


if __name__ == "__main__":
    main(sys.argv[1:])
