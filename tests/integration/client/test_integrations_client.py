"""Scoped tokens, the change feed and webhooks through the client, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading

import pytest

from prism.api.routes.tokens import TokenIn
from prism.api.routes.webhooks import WebhookIn
from prism.api.schemas import PortfolioIn
from prism.client import AsyncPrismClient, Forbidden, NotFound, PrismClient, Unauthorized
from tests.integration.client.conftest import Served


def test_a_read_only_token_reads_and_is_forbidden_to_write(device: Served) -> None:
    with PrismClient(device.url, device.token) as owner:
        owner.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        made = owner.tokens.create(TokenIn(name="dashboard", scopes=["read:portfolio"]))
        assert [t.name for t in owner.tokens.iter()].count("dashboard") == 1
    with PrismClient(device.url, made.token) as dashboard:
        assert [p.name for p in dashboard.portfolios.iter()] == ["Main"]
        with pytest.raises(Forbidden) as refused:
            dashboard.portfolios.create(PortfolioIn(name="Other", base_currency="EUR"))
    assert refused.value.status == 403


def test_a_revoked_token_is_unauthorized(device: Served) -> None:
    with PrismClient(device.url, device.token) as owner:
        made = owner.tokens.create(TokenIn(scopes=["read:portfolio"]))
        owner.tokens.revoke(made.id)
    with PrismClient(device.url, made.token) as revoked, pytest.raises(Unauthorized):
        revoked.portfolios.list()


def test_the_feed_is_read_to_its_end_and_resumed_from_a_cursor(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        prism.portfolios.create(PortfolioIn(name="First", base_currency="EUR"))
        seen = list(prism.changes.follow(wait=0))
        assert [c.columns.get("name") for c in seen if c.table == "portfolios"] == ["First"]
        prism.portfolios.create(PortfolioIn(name="Second", base_currency="EUR"))
        later = list(prism.changes.follow(after=seen[-1].cursor, wait=0))
    assert [c.columns.get("name") for c in later if c.table == "portfolios"] == ["Second"]


def test_a_waiting_client_gets_a_change_written_while_it_waits(device: Served) -> None:
    async def scenario() -> str:
        async with AsyncPrismClient(device.url, device.token) as prism:
            start = await prism.changes.list(after="latest")
            waiting = asyncio.ensure_future(prism.changes.list(after=start.next_cursor, wait=10))
            await asyncio.sleep(0.2)
            assert not waiting.done()
            # Written by another client, on another thread, while the long-poll is held.
            writer = threading.Thread(target=_write_portfolio, args=(device, "Late"))
            writer.start()
            page = await waiting
            writer.join()
            return str(page.items[0].columns.get("name"))

    assert asyncio.run(scenario()) == "Late"


def _write_portfolio(device: Served, name: str) -> None:
    with PrismClient(device.url, device.token) as prism:
        prism.portfolios.create(PortfolioIn(name=name, base_currency="EUR"))


def test_a_webhook_is_registered_listed_and_deleted(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        hook = prism.webhooks.create(WebhookIn(url="http://127.0.0.1:9/hook", scopes=["read:portfolio"]))
        assert hook.secret
        assert [h.id for h in prism.webhooks.iter()] == [hook.id]
        assert prism.webhooks.deliveries(hook.id).items == []
        prism.webhooks.delete(hook.id)
        assert list(prism.webhooks.iter()) == []
        with pytest.raises(NotFound):
            prism.webhooks.deliveries(hook.id)


def test_following_the_feed_yields_a_change_as_it_is_written(device: Served) -> None:
    names: list[object] = []

    def follow() -> None:
        with PrismClient(device.url, device.token) as prism:
            start = prism.changes.list(after="latest").next_cursor
            threading.Timer(0.3, _write_portfolio, args=(device, "Streamed")).start()
            for change in prism.changes.follow(after=start, wait=5):
                if change.table == "portfolios":
                    names.append(change.columns.get("name"))
                    return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    follower.join(timeout=30)
    assert names == ["Streamed"]
