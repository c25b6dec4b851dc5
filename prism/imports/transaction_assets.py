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
    """Finds each row's asset, or makes a new one that is saved only when a row using it is kept.

    Nothing is written for a row that is then refused, so a bad row leaves no asset behind.
    """

    def __init__(self, connection: Connection, owner_id: uuid.UUID, base_currency: str) -> None:
        self._connection = connection
        self._owner = owner_id
        self._base = base_currency
        self._by_isin: dict[str, Found] = {}
        self._by_ticker: dict[str, Found] | None = None
        self._unsaved: dict[uuid.UUID, Asset] = {}

    def resolve(self, row: ImportRow) -> Found | None:
        """(asset id, asset currency) of ``row``'s asset, or None when it names none."""
        if row.isin is not None:
            return self._by_isin.get(row.isin) or self._isin(row, parse_isin(row.isin))
        if row.symbol is not None:
            return self._ticker(row, row.symbol.strip().upper())
        return None

    def is_unsaved(self, asset_id: uuid.UUID) -> bool:
        """Whether ``asset_id`` is new and not saved yet."""
        return asset_id in self._unsaved

    def save(self, asset_id: uuid.UUID) -> bool:
        """Save ``asset_id`` if it is new and unsaved (a row using it is kept); whether it was."""
        asset = self._unsaved.pop(asset_id, None)
        if asset is None:
            return False
        save_asset(self._connection, self._owner, asset)
        return True

    def _isin(self, row: ImportRow, isin: str) -> Found:
        found = self._by_isin.get(isin)
        if found is not None:
            return found
        try:
            asset = get_asset(self._connection, self._owner, asset_id_for(self._owner, isin))
        except NotFoundError:
            asset = self._new(row, isin=isin)
            self._unsaved[asset.id] = asset
        found = self._by_isin[isin] = self._by_isin[row.isin or isin] = (asset.id, asset.currency)
        return found

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
        self._unsaved[fresh.id] = fresh
        found = self._by_ticker[ticker] = (fresh.id, fresh.currency)
        return found

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
