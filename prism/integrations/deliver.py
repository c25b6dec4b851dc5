"""The webhook deliverer: queues new changes, sends due deliveries, records each attempt.

It runs in every server process (see :func:`prism.api.integrations.integrations`); the database decides who
sends what (leases, ``SKIP LOCKED``), so replicas share the work and a replica that
dies leaves its leased deliveries to the others once the lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import logging
import socket
import time
import urllib.parse

import httpx

from prism import __version__
from prism.integrations.signing import SIGNATURE_HEADER, sign
from prism.storage.engine import Database
from prism.storage.tokens import forget_rate_windows
from prism.storage.webhooks import (
    Claimed,
    RetryPolicy,
    claim_due,
    enqueue_changes,
    has_live_hooks,
    record_attempt,
)

__all__ = ["deliver_once", "private_address_of", "run_deliverer", "send"]

logger = logging.getLogger("prism.webhooks")
_TIMEOUT = httpx.Timeout(10.0)


async def private_address_of(url: str) -> str | None:
    """An address of ``url``'s host that is not on the public internet (loopback, private,
    link-local, reserved...), or None when all of them are public."""
    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        return None  # unresolvable: the attempt itself fails and says so
    for *_rest, address in found:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if not ip.is_global:
            return str(ip)
    return None


async def send(
    client: httpx.AsyncClient, claimed: Claimed, *, public_only: bool = False
) -> tuple[int | None, str | None, int]:
    """POST one signed delivery: (status code or None, error or None, milliseconds).

    With ``public_only`` (a hosted server) a URL whose host resolves to a private or
    loopback address is not called: accounts must not reach the server's own network.
    """
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Prism-Webhooks/{__version__}",
        SIGNATURE_HEADER: sign(claimed.secret, claimed.payload),
        "Prism-Delivery": str(claimed.delivery_id),
        "Prism-Webhook": str(claimed.webhook_id),
    }
    started = time.perf_counter()
    if public_only and (private := await private_address_of(claimed.url)) is not None:
        return None, f"refused: the host resolves to {private}, not a public address", _since(started)
    try:
        response = await client.post(claimed.url, content=claimed.payload, headers=headers)
    except Exception as error:  # whatever stops the call (a bad URL too) is one failed attempt, recorded
        return None, f"{type(error).__name__}: {error}", _since(started)
    error_text = None if response.is_success else f"HTTP {response.status_code}"
    return response.status_code, error_text, _since(started)


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def deliver_once(
    database: Database,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    now: dt.datetime | None = None,
    *,
    public_only: bool = False,
) -> int:
    """Queue new changes, then send every due delivery once; the number of attempts made."""
    if not await database.read(has_live_hooks):
        return 0  # no write transaction at all while nobody listens (a device's writer stays free)
    await database.write(enqueue_changes, now)
    claimed = await database.write(claim_due, policy, now=now)

    async def attempt(one: Claimed) -> None:
        status, error, took = await send(client, one, public_only=public_only)
        await database.write(record_attempt, one, policy, status_code=status, error=error, duration_ms=took, now=now)

    await asyncio.gather(*(attempt(one) for one in claimed))
    return len(claimed)


async def run_deliverer(
    database: Database,
    stop: asyncio.Event,
    policy: RetryPolicy | None = None,
    interval: float = 0.5,
    *,
    public_only: bool = False,
) -> None:
    """Deliver until ``stop`` is set, looking every ``interval`` seconds."""
    policy = policy or RetryPolicy()
    rounds = 0
    async with httpx.AsyncClient(timeout=_TIMEOUT, follow_redirects=False) as client:
        while not stop.is_set():
            try:
                await deliver_once(database, client, policy, public_only=public_only)
                rounds += 1
                if rounds % 600 == 0:
                    await database.write(forget_rate_windows)
            except Exception:  # one bad round must not end delivery for good
                logger.exception("webhook delivery round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
