"""The deliverer against a real receiver on loopback, on both databases, with the clock
passed in: failed attempts retried on the backoff schedule, recorded, the hook disabled
after its run of failures; a success resets the run."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx

from prism.domain.scopes import ALL_SCOPES
from prism.integrations.deliver import deliver_once
from prism.storage.catalog import create_portfolio, ensure_device_account
from prism.storage.engine import Database
from prism.storage.webhooks import RetryPolicy, create_webhook, get_webhook, list_deliveries
from tests.integration.receiver import receiver

POLICY = RetryPolicy(base=dt.timedelta(seconds=10), max_attempts=3, disable_after=4)
T0 = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def _hooked(db: Database, url: str) -> tuple[uuid.UUID, uuid.UUID]:
    owner = await db.write(ensure_device_account)
    hook, _secret = await db.write(create_webhook, owner, url, ["read:portfolio"], ALL_SCOPES)
    return owner, hook.id


def test_backoff_doubles_up_to_its_cap() -> None:
    policy = RetryPolicy(base=dt.timedelta(seconds=30), cap=dt.timedelta(minutes=5))
    assert [policy.delay(n).total_seconds() for n in range(1, 7)] == [30, 60, 120, 240, 300, 300]


async def test_failures_are_retried_on_schedule_then_the_delivery_fails_and_the_hook_is_disabled(
    db: Database,
) -> None:
    with receiver(500) as got:
        owner, hook_id = await _hooked(db, got.url)
        await db.write(create_portfolio, owner, "One", "EUR")
        async with httpx.AsyncClient() as http:
            assert await deliver_once(db, http, POLICY, T0) == 1
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(seconds=9)) == 0  # not due yet
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(seconds=10)) == 1
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(seconds=29)) == 0
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(seconds=30)) == 1
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(hours=1)) == 0  # given up
            (failed,) = await db.read(list_deliveries, owner, hook_id)
            assert failed.status == "failed"
            assert [(a.attempt, a.status_code) for a in failed.attempts] == [(1, 500), (2, 500), (3, 500)]
            assert (await db.read(get_webhook, owner, hook_id)).disabled_at is None  # 3 of 4 failures
            await db.write(create_portfolio, owner, "Two", "EUR")
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(hours=2)) == 1
            hook = await db.read(get_webhook, owner, hook_id)
            assert hook.disabled_at is not None
            assert hook.failures == 4
            await db.write(create_portfolio, owner, "Three", "EUR")
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(hours=3)) == 0
    assert len(got.requests) == 4


async def test_a_retry_that_succeeds_is_delivered_once_and_resets_the_run(db: Database) -> None:
    with receiver(503, 200) as got:
        owner, hook_id = await _hooked(db, got.url)
        await db.write(create_portfolio, owner, "One", "EUR")
        async with httpx.AsyncClient() as http:
            await deliver_once(db, http, POLICY, T0)
            assert (await db.read(get_webhook, owner, hook_id)).failures == 1
            await deliver_once(db, http, POLICY, T0 + dt.timedelta(seconds=10))
            assert await deliver_once(db, http, POLICY, T0 + dt.timedelta(hours=1)) == 0
        (delivered,) = await db.read(list_deliveries, owner, hook_id)
        assert delivered.status == "delivered"
        assert [a.status_code for a in delivered.attempts] == [503, 200]
        assert (await db.read(get_webhook, owner, hook_id)).failures == 0
    assert got.requests[0][1] == got.requests[1][1]  # the same body, resent


async def test_an_unreachable_receiver_is_an_attempt_without_status(db: Database) -> None:
    with receiver(200) as got:
        url = got.url
    owner, hook_id = await _hooked(db, url)  # the receiver is gone: the port refuses
    await db.write(create_portfolio, owner, "One", "EUR")
    async with httpx.AsyncClient() as http:
        assert await deliver_once(db, http, POLICY, T0) == 1
    (pending,) = await db.read(list_deliveries, owner, hook_id)
    assert pending.status == "pending"
    assert pending.attempts[0].status_code is None
    assert pending.attempts[0].error
    assert pending.next_attempt_at == T0 + dt.timedelta(seconds=10)


async def test_a_leased_delivery_is_not_claimed_twice(db: Database) -> None:
    with receiver(200) as got:
        owner, _hook_id = await _hooked(db, got.url)
        await db.write(create_portfolio, owner, "One", "EUR")
        async with httpx.AsyncClient() as http:
            first, second = await asyncio.gather(deliver_once(db, http, POLICY, T0), deliver_once(db, http, POLICY, T0))
    assert first + second == 1
    assert len(got.requests) == 1


async def test_a_hosted_deliverer_refuses_hosts_on_private_networks(db: Database) -> None:
    with receiver(200) as got:
        owner, hook_id = await _hooked(db, got.url)
        await db.write(create_portfolio, owner, "One", "EUR")
        async with httpx.AsyncClient() as http:
            assert await deliver_once(db, http, POLICY, T0, public_only=True) == 1
        (refused,) = await db.read(list_deliveries, owner, hook_id)
    assert got.requests == []
    assert refused.attempts[0].status_code is None
    assert "127.0.0.1" in (refused.attempts[0].error or "")
