"""The async client against a real device server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from decimal import Decimal

import msgspec
import pytest

from prism.api.routes.imports import ImportIn
from prism.api.schemas import PortfolioIn, TransactionIn
from prism.client import AsyncPrismClient, InvalidRequest, NotFound, Unauthorized
from prism.domain.ledger import TransactionType
from tests.integration.client.conftest import Served

CSV = (
    "date,type,isin,name,quantity,price,amount,currency,id\n"
    "2024-01-02,buy,IE00B4L5Y983,iShares Core MSCI World,3,80,,EUR,A1\n"
    "2024-06-03,dividend,IE00B4L5Y983,iShares Core MSCI World,,,1.50,EUR,A2\n"
)


def test_a_portfolio_round_trips_and_transactions_page(device: Served) -> None:
    async def scenario() -> tuple[list[int], list[str]]:
        async with AsyncPrismClient(device.url, device.token) as prism:
            book = await prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
            assert await prism.portfolios.get(book.id) == book
            writes = [
                prism.transactions.create(
                    TransactionIn(
                        portfolio_id=book.id,
                        type=TransactionType.DEPOSIT,
                        date=dt.date(2024, 2, day),
                        currency="EUR",
                        amount="5",
                    )
                )
                for day in (4, 2, 3, 1)
            ]
            await asyncio.gather(*writes)
            days = [t.date.day async for t in prism.transactions.iter(portfolio_id=book.id, limit=2)]
            names = [p.name async for p in prism.portfolios.iter(limit=1)]
            return days, names

    days, names = asyncio.run(scenario())
    assert days == [1, 2, 3, 4]
    assert names == ["Main"]


def test_an_import_and_analytics_through_the_async_client(device: Served) -> None:
    async def scenario() -> tuple[int, Decimal, Decimal]:
        async with AsyncPrismClient(device.url, device.token) as prism:
            book = await prism.portfolios.create(PortfolioIn(name="Broker", base_currency="EUR"))
            report = await prism.imports.import_file(ImportIn(format="generic", portfolio_id=book.id, content=CSV))
            holdings = await prism.analytics.holdings()
            performance = await prism.analytics.performance(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
            return report.imported, Decimal(holdings.items[0].quantity), Decimal(performance.dividends)

    assert asyncio.run(scenario()) == (2, Decimal(3), Decimal("1.50"))


def test_errors_map_to_their_classes_in_the_async_client(device: Served) -> None:
    async def scenario() -> list[BaseException]:
        caught: list[BaseException] = []
        async with AsyncPrismClient(device.url, device.token) as prism:
            for call in (
                prism.portfolios.get(uuid.uuid4()),
                prism.portfolios.create(PortfolioIn(name="Main", base_currency="XX")),
            ):
                try:
                    await call
                except (NotFound, InvalidRequest) as error:
                    caught.append(error)
        async with AsyncPrismClient(device.url, "wrong") as stranger:
            try:
                await stranger.analytics.holdings()
            except Unauthorized as error:
                caught.append(error)
        return caught

    caught = asyncio.run(scenario())
    assert [type(e) for e in caught] == [NotFound, InvalidRequest, Unauthorized]
    assert isinstance(caught[1], InvalidRequest)
    assert caught[1].field == "base_currency"


def test_the_async_device_client_reads_the_token_file(device: Served) -> None:
    port = int(device.url.rsplit(":", 1)[1])
    settings = msgspec.structs.replace(
        device.settings, server=msgspec.structs.replace(device.settings.server, port=port)
    )

    async def scenario() -> int:
        async with AsyncPrismClient.for_device(settings) as prism:
            return len((await prism.portfolios.list()).items)

    assert asyncio.run(scenario()) == 0


@pytest.mark.parametrize("limit", [1, 1000])
def test_iterating_an_empty_list_yields_nothing(device: Served, limit: int) -> None:
    async def scenario() -> list[object]:
        async with AsyncPrismClient(device.url, device.token) as prism:
            return [note async for note in prism.notes.iter(limit=limit)]

    assert asyncio.run(scenario()) == []
