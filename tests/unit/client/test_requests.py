"""What an operation puts on the wire: method, path, query and body, built once for both clients."""

from __future__ import annotations

import datetime as dt
import email.utils
import uuid

import httpx
import msgspec
import pytest

from prism.api.schemas import PortfolioIn
from prism.client import AsyncPrismClient, PrismClient, Retries
from prism.client._operations import Request
from prism.client._transport import SyncTransport, retry_after
from prism.client.api_backup import Backup
from prism.client.api_imports import Imports
from prism.client.api_market import Market
from prism.client.api_portfolios import Portfolios
from prism.client.api_transactions import Transactions
from prism.domain.ledger import TransactionType

PORTFOLIO = uuid.UUID("01936b2e-0000-7000-8000-000000000001")


def _built(request: Request[object]) -> httpx.Request:
    transport = SyncTransport("http://prism.test", "secret", timeout=5, retries=Retries(), client=None)
    try:
        return transport._build(transport.http, request)
    finally:
        transport.close()


def test_a_list_sends_only_the_filters_given_as_text() -> None:
    request = Transactions.list.request(
        None, portfolio_id=PORTFOLIO, type=TransactionType.BUY, start=dt.date(2024, 1, 31), limit=50
    )
    built = _built(request)
    assert built.method == "GET"
    assert built.url.path == "/api/v1/transactions"
    assert dict(built.url.params) == {
        "portfolio_id": str(PORTFOLIO),
        "type": "buy",
        "start": "2024-01-31",
        "limit": "50",
    }


def test_a_body_travels_as_json_with_the_token() -> None:
    built = _built(Portfolios.create.request(None, PortfolioIn(name="Main", base_currency="EUR")))
    assert built.method == "POST"
    assert built.headers["authorization"] == "Bearer secret"
    assert built.headers["content-type"] == "application/json"
    assert msgspec.json.decode(built.content) == {"name": "Main", "base_currency": "EUR"}


def test_path_parameters_are_escaped_and_a_blob_name_keeps_its_slashes() -> None:
    assert _built(Portfolios.get.request(None, PORTFOLIO)).url.path == f"/api/v1/portfolios/{PORTFOLIO}"
    blob = _built(Backup.put_blob.request(None, "data/ab cd", b"\x00\x01"))
    assert blob.url.raw_path == b"/api/v1/backup/blobs/data/ab%20cd"
    assert blob.headers["content-type"] == "application/octet-stream"
    assert blob.content == b"\x00\x01"


@pytest.mark.parametrize(
    ("request_", "idempotent"),
    [
        (Portfolios.get.request(None, PORTFOLIO), True),
        (Portfolios.delete.request(None, PORTFOLIO), True),
        (Portfolios.create.request(None, PortfolioIn(name="M", base_currency="EUR")), False),
        (Imports.export.request(None), True),
        (Market.import_prices.request(None, None), True),
    ],
)
def test_only_gets_puts_deletes_and_posts_the_server_makes_safe_are_retried(
    request_: Request[object], idempotent: bool
) -> None:
    assert request_.idempotent is idempotent


def test_sync_and_async_clients_share_each_area_class() -> None:
    sync, asynchronous = PrismClient("http://prism.test"), AsyncPrismClient("http://prism.test")
    assert {type(sync.transactions), type(asynchronous.transactions)} == {Transactions}


def test_a_backoff_doubles_with_jitter_and_stops_after_the_attempts() -> None:
    retries = Retries(attempts=3, backoff=0.1, max_backoff=0.3)
    waits = [retries.wait(attempt, None) for attempt in range(4)]
    assert waits[3] is None
    low_high = [(0.05, 0.1), (0.1, 0.2), (0.15, 0.3)]
    assert all(w is not None and low <= w <= high for w, (low, high) in zip(waits[:3], low_high, strict=True))


def test_a_server_retry_after_wins_up_to_the_patience() -> None:
    retries = Retries(max_retry_after=10)
    assert retries.wait(0, 4.0) == 4.0
    assert retries.wait(0, 11.0) is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [("2", 2.0), ("0.5", 0.5), ("-3", 0.0), ("soon", None), ("", None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header: str, expected: float | None) -> None:
    answer = httpx.Response(429, headers={"Retry-After": header})
    assert retry_after(answer) == expected


def test_retry_after_as_a_future_date_is_the_seconds_until_then() -> None:
    moment = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), usegmt=True)
    asked = retry_after(httpx.Response(503, headers={"Retry-After": moment}))
    assert asked is not None
    assert 25 <= asked <= 30
