"""The assets an imported row names: found by ISIN (or ticker), created when missing.

An asset with an ISIN has the account's deterministic id for it, so two devices
importing the same file create the same asset. A row that names only a ticker (a
Ghostfolio symbol) finds a live asset with that ticker, or creates one whose id is
derived from the ticker the same way, for the same reason.
"""

from __future__ import annotations

import dataclasses
import uuid

from sqlalchemy import Connection

from prism.domain.ids import asset_id as asset_id_for
from prism.domain.ids import ticker_asset_id
from prism.domain.isin import parse_isin
from prism.errors import NotFoundError
from prism.imports.formats import ImportRow
from prism.storage.catalog import Asset, AssetKind, get_asset, list_assets, new_asset, save_asset

__all__ = ["AssetResolver"]

Found = tuple[uuid.UUID, str]


class AssetResolver:
    """Finds or creates each row's asset; creations stay pending until the row is kept."""

    def __init__(self, connection: Connection, owner_id: uuid.UUID, base_currency: str) -> None:
        self._connection = connection
        self._owner = owner_id
        self._base = base_currency
        self._by_isin: dict[str, Found] = {}
        self._by_ticker: dict[str, Found] | None = None
        self._pending: list[tuple[dict[str, Found], str]] = []

    def resolve(self, row: ImportRow) -> Found | None:
        """(asset id, asset currency) of ``row``'s asset, or None when it names none."""
        if row.isin is not None:
            return self._isin(row, parse_isin(row.isin))
        if row.symbol is not None:
            return self._ticker(row, row.symbol.strip().upper())
        return None

    def keep_pending(self) -> int:
        """The row was recorded: its new assets stay. How many there were."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def forget_pending(self) -> None:
        """The row was rolled back, and with it the assets it created."""
        for cache, key in self._pending:
            cache.pop(key, None)
        self._pending.clear()

    def _isin(self, row: ImportRow, isin: str) -> Found:
        found = self._by_isin.get(isin)
        if found is not None:
            return found
        try:
            asset = get_asset(self._connection, self._owner, asset_id_for(self._owner, isin))
        except NotFoundError:
            asset = save_asset(self._connection, self._owner, self._new(row, isin=isin))
            self._pending.append((self._by_isin, isin))
        self._by_isin[isin] = (asset.id, asset.currency)
        return self._by_isin[isin]

    def _ticker(self, row: ImportRow, ticker: str) -> Found:
        if self._by_ticker is None:
            self._by_ticker = {
                a.ticker.strip().upper(): (a.id, a.currency)
                for a in list_assets(self._connection, self._owner)
                if a.ticker
            }
        found = self._by_ticker.get(ticker)
        if found is not None:
            return found
        fresh = dataclasses.replace(self._new(row, ticker=ticker), id=ticker_asset_id(self._owner, ticker))
        asset = save_asset(self._connection, self._owner, fresh)
        self._pending.append((self._by_ticker, ticker))
        self._by_ticker[ticker] = (asset.id, asset.currency)
        return self._by_ticker[ticker]

    def _new(self, row: ImportRow, *, isin: str | None = None, ticker: str | None = None) -> Asset:
        kind = (row.kind or AssetKind.OTHER.value).strip().lower()
        return new_asset(
            self._owner,
            name=row.name or isin or ticker or "?",
            kind=kind,
            currency=row.currency or self._base,
            isin=isin,
            ticker=ticker,
        )
