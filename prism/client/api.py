"""The typed client of Prism's ``/api/v1``: :class:`PrismClient` (sync) and :class:`AsyncPrismClient`.

Each area of the API is an attribute (``client.portfolios``, ``client.transactions``,
...) with one method per operation, taking and returning the server's own msgspec
structs; ``iter`` methods walk every page of a list::

    with PrismClient.for_device(settings) as prism:
        book = prism.portfolios.create(PortfolioIn(name="Main", base_currency="EUR"))
        for entry in prism.transactions.iter(portfolio_id=book.id):
            print(entry.date, entry.type, entry.amount)

Errors are :mod:`prism.client.errors` exceptions built from the server's problem
details; GET, PUT, DELETE and POSTs the server makes idempotent are retried with
backoff after a network failure, 429, 502, 503 or 504.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, Self

import httpx

from prism.client._operations import Async, M, Runner, Sync
from prism.client._transport import DEFAULT_TIMEOUT, AsyncTransport, Retries, SyncTransport
from prism.client.api_analytics import Analytics
from prism.client.api_annotations import AlertRules, Alerts, Notes, Tags
from prism.client.api_auth import Auth
from prism.client.api_backup import Backup
from prism.client.api_hive import Hive
from prism.client.api_imports import Imports
from prism.client.api_integrations import Changes, Tokens, Webhooks
from prism.client.api_market import Market
from prism.client.api_portfolios import Assets, Portfolios
from prism.client.api_settings import Conflicts, Settings
from prism.client.api_transactions import Transactions
from prism.config import Settings as PrismSettings

__all__ = ["AsyncPrismClient", "PrismClient", "Retries", "device_url"]


def device_url(settings: PrismSettings) -> str:
    """The URL a program on this machine reaches the device server at."""
    host = settings.server.host
    if host in {"0.0.0.0", "::", ""}:  # listening everywhere: loopback is one of them
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.server.port}"


def _device_token(settings: PrismSettings) -> str:
    return settings.token_path.read_text().strip()


class _Areas(Generic[M]):
    """The API's areas, bound to one transport."""

    portfolios: Portfolios[M]
    assets: Assets[M]
    transactions: Transactions[M]
    notes: Notes[M]
    tags: Tags[M]
    alert_rules: AlertRules[M]
    alerts: Alerts[M]
    analytics: Analytics[M]
    market: Market[M]
    imports: Imports[M]
    settings: Settings[M]
    conflicts: Conflicts[M]
    backup: Backup[M]
    hive: Hive[M]
    auth: Auth[M]
    tokens: Tokens[M]
    changes: Changes[M]
    webhooks: Webhooks[M]

    def _bind(self, runner: Runner) -> None:
        self.portfolios = Portfolios(runner)
        self.assets = Assets(runner)
        self.transactions = Transactions(runner)
        self.notes = Notes(runner)
        self.tags = Tags(runner)
        self.alert_rules = AlertRules(runner)
        self.alerts = Alerts(runner)
        self.analytics = Analytics(runner)
        self.market = Market(runner)
        self.imports = Imports(runner)
        self.settings = Settings(runner)
        self.conflicts = Conflicts(runner)
        self.backup = Backup(runner)
        self.hive = Hive(runner)
        self.auth = Auth(runner)
        self.tokens = Tokens(runner)
        self.changes = Changes(runner)
        self.webhooks = Webhooks(runner)


class PrismClient(_Areas[Sync]):
    """A blocking client on :class:`httpx.Client`; use it as a context manager or :meth:`close` it.

    ``base_url`` is the server's root (``http://127.0.0.1:8731``); ``token`` its bearer
    token (a device's from its token file, a hosted account's from :meth:`Auth.signin`).
    ``http`` lets a caller bring its own configured :class:`httpx.Client`.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._transport = SyncTransport(base_url, token, timeout=timeout, retries=retries or Retries(), client=http)
        self._bind(self._transport)

    @classmethod
    def for_device(
        cls, settings: PrismSettings, *, timeout: float = DEFAULT_TIMEOUT, retries: Retries | None = None
    ) -> Self:
        """A client of this machine's device server, with the token from ``settings.token_path``."""
        return cls(device_url(settings), _device_token(settings), timeout=timeout, retries=retries)

    def use_token(self, token: str) -> None:
        """Send ``token`` from now on (after signing in, or when the device token was rotated)."""
        self._transport.http.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        """Close the connections."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()


class AsyncPrismClient(_Areas[Async]):
    """The same API on :class:`httpx.AsyncClient`: every operation returns an awaitable,
    every ``iter`` an async iterator. Use it as an async context manager or :meth:`aclose` it.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: Retries | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._transport = AsyncTransport(base_url, token, timeout=timeout, retries=retries or Retries(), client=http)
        self._bind(self._transport)

    @classmethod
    def for_device(
        cls, settings: PrismSettings, *, timeout: float = DEFAULT_TIMEOUT, retries: Retries | None = None
    ) -> Self:
        """A client of this machine's device server, with the token from ``settings.token_path``."""
        return cls(device_url(settings), _device_token(settings), timeout=timeout, retries=retries)

    def use_token(self, token: str) -> None:
        """Send ``token`` from now on."""
        self._transport.http.headers["Authorization"] = f"Bearer {token}"

    async def aclose(self) -> None:
        """Close the connections."""
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()
