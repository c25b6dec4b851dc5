"""The sync client against a real device server, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec
import pytest

from prism.api.routes.identity import Credentials
from prism.api.routes.imports import ImportIn
from prism.api.schemas import AssetIn, PortfolioIn, TransactionIn
from prism.client import InvalidRequest, NotFound, PrismClient, Unauthorized
from prism.domain.ledger import TransactionType
from tests.integration.client.conftest import Served

TRADES = (
    "date,type,isin,name,quantity,price,amount,fee,currency,id\n"
    "2024-01-02,buy,IE00B4L5Y983,iShares Core MSCI World,10,80.50,,1.00,EUR,T1\n"
    "2024-02-01,sell,IE00B4L5Y983,iShares Core MSCI World,4,90,,1,EUR,T2\n"
    "2024-03-15,dividend,IE00B4L5Y983,iShares Core MSCI World,,,12.34,,EUR,T3\n"
)


def _deposit(portfolio_id: uuid.UUID, day: int, amount: str) -> TransactionIn:
    return TransactionIn(
        portfolio_id=portfolio_id,
        type=TransactionType.DEPOSIT,
        date=dt.date(2024, 1, day),
        currency="EUR",
        amount=amount,
    )


def test_a_portfolio_is_created_read_listed_renamed_and_deleted(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        made = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        assert prism.portfolios.get(made.id) == made
        assert [p.id for p in prism.portfolios.iter()] == [made.id]
        renamed = prism.portfolios.replace(made.id, PortfolioIn(name="Broker", base_currency="EUR"))
        assert renamed.name == "Broker"
        assert prism.portfolios.delete(made.id) is None
        with pytest.raises(NotFound) as gone:
            prism.portfolios.get(made.id)
    assert gone.value.status == 404


def test_transactions_page_in_ledger_order_through_the_iterator(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        for day in (5, 1, 3, 2, 4, 7, 6):
            prism.transactions.create(_deposit(book.id, day, f"{day}.10"))
        first = prism.transactions.list(portfolio_id=book.id, limit=3)
        every = list(prism.transactions.iter(portfolio_id=book.id, limit=3))
    assert len(first.items) == 3
    assert first.next_cursor is not None
    assert [t.date.day for t in every] == [1, 2, 3, 4, 5, 6, 7]
    assert sum(Decimal(t.amount or "0") for t in every) == Decimal("28.70")


def test_a_filter_by_type_and_dates_reaches_the_server(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        for day in (1, 2, 3):
            prism.transactions.create(_deposit(book.id, day, "10"))
        found = prism.transactions.list(
            portfolio_id=book.id, type=TransactionType.DEPOSIT, start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 2)
        )
        none = prism.transactions.list(portfolio_id=book.id, type=TransactionType.BUY)
    assert [t.date for t in found.items] == [dt.date(2024, 1, 2)]
    assert none.items == []


def test_an_import_is_idempotent_and_shows_in_holdings_and_analytics(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Broker", base_currency="EUR"))
        wanted = ImportIn(format="generic", portfolio_id=book.id, content=TRADES)
        first = prism.imports.import_file(wanted)
        again = prism.imports.import_file(wanted)
        holdings = prism.analytics.portfolio_holdings(book.id)
        performance = prism.analytics.portfolio_performance(book.id)
    assert (first.imported, again.imported, again.already_imported) == (3, 0, 3)
    assert [(h.isin, Decimal(h.quantity)) for h in holdings.items] == [("IE00B4L5Y983", Decimal(6))]
    assert Decimal(holdings.items[0].dividends) == Decimal("12.34")
    assert performance.currency == "EUR"
    assert Decimal(performance.dividends) == Decimal("12.34")


def test_an_unknown_id_is_not_found(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism, pytest.raises(NotFound) as missing:
        prism.transactions.get(uuid.uuid4())
    assert missing.value.code == "not-found"


def test_a_refused_value_names_its_field(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism, pytest.raises(InvalidRequest) as refused:
        prism.portfolios.create(PortfolioIn(name="Main", base_currency="EURO"))
    assert refused.value.status == 422
    assert refused.value.field == "base_currency"


def test_a_malformed_decimal_is_refused_naming_its_field(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        with pytest.raises(InvalidRequest) as refused:
            prism.transactions.create(_deposit(book.id, 1, "ten"))
        assert list(prism.transactions.iter(portfolio_id=book.id)) == []
    assert refused.value.status == 400
    assert refused.value.field == "amount"


def test_a_decimal_given_as_decimal_travels_as_a_string(device: Served) -> None:
    with PrismClient(device.url, device.token) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        # msgspec encodes a Decimal as its exact text, so a Decimal may stand where the wire wants one.
        sent = msgspec.structs.replace(_deposit(book.id, 1, "0"), amount=Decimal("0.1") + Decimal("0.2"))
        made = prism.transactions.create(sent)
    assert made.amount == "0.3"


def test_a_wrong_token_is_unauthorized(device: Served) -> None:
    with PrismClient(device.url, "not-the-token") as prism, pytest.raises(Unauthorized) as refused:
        prism.portfolios.list()
    assert refused.value.status == 401


def test_the_device_client_reads_the_token_file_and_the_address(device: Served) -> None:
    port = int(device.url.rsplit(":", 1)[1])
    server = msgspec.structs.replace(device.settings.server, host="0.0.0.0", port=port)
    settings = msgspec.structs.replace(device.settings, server=server)
    with PrismClient.for_device(settings) as prism:
        asset = prism.assets.create(AssetIn(name="Cash fund", kind="fund", currency="EUR"))
        assert prism.assets.get(asset.id) == asset


def test_a_hosted_account_signs_up_and_sees_only_its_own_data(hosted_server: Served) -> None:
    with PrismClient(hosted_server.url) as ada, PrismClient(hosted_server.url) as bob:
        ada.use_token(ada.auth.signup(Credentials(email="ada@example.com", password="correct horse battery")).token)
        bob.use_token(bob.auth.signup(Credentials(email="bob@example.com", password="battery staple horse")).token)
        book = ada.portfolios.create(PortfolioIn(name="Ada's", base_currency="EUR"))
        assert bob.portfolios.list().items == []
        with pytest.raises(NotFound):
            bob.portfolios.get(book.id)
        again = ada.auth.signin(Credentials(email="ada@example.com", password="correct horse battery"))
        with pytest.raises(Unauthorized):
            ada.auth.signin(Credentials(email="ada@example.com", password="wrong password!"))
    with PrismClient(hosted_server.url, again.token) as returning:
        assert [p.name for p in returning.portfolios.iter()] == ["Ada's"]
