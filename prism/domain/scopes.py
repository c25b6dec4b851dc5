"""The scopes a token may hold, and what one request was granted.

This is the one list of scopes; which route needs which is in :mod:`prism.api.scopes`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from prism.errors import ValidationError

__all__ = ["ALL_SCOPES", "SCOPES", "Grant", "checked_scopes", "scope_of_table"]

#: Every scope, with what it grants.
SCOPES: dict[str, str] = {
    "read:portfolio": "read portfolios, holdings, assets, settings, notes, tags, alert rules",
    "write:portfolio": "create, change and delete those",
    "read:transactions": "read the ledger, and export it",
    "write:transactions": "record, change and delete ledger entries; import statements",
    "read:market": "read prices, FX rates, fund compositions and the hive",
    "write:market": "store market data; contribute to the hive",
    "read:analytics": "value history, performance, exposure, overlap, alerts",
    "read:changes": "read the change feed",
    "admin:tokens": "create, list and revoke tokens (never wider than the token itself)",
    "admin:webhooks": "register, list and delete webhooks and read their deliveries",
    "admin:backup": "create, verify, restore and prune backups; the backup blob store",
}
ALL_SCOPES: frozenset[str] = frozenset(SCOPES)


def checked_scopes(scopes: Iterable[str], *, field: str = "scopes") -> list[str]:
    """``scopes`` sorted and without repeats; an unknown or missing one is a ValidationError."""
    chosen = sorted(set(scopes))
    if not chosen:
        raise ValidationError("name at least one scope", field=field)
    unknown = [scope for scope in chosen if scope not in ALL_SCOPES]
    if unknown:
        raise ValidationError(f"unknown scope {unknown[0]!r}; known: {', '.join(sorted(ALL_SCOPES))}", field=field)
    return chosen


@dataclass(frozen=True, slots=True)
class Grant:
    """What the token of one request may do: for whom, which scopes, which portfolio.

    ``token_id`` is None for the device's own token (every scope, no limit);
    ``portfolio_id`` is None unless the token is limited to one portfolio.
    """

    owner_id: uuid.UUID
    token_id: uuid.UUID | None
    scopes: frozenset[str]
    portfolio_id: uuid.UUID | None = None

    @property
    def is_full(self) -> bool:
        """Every scope, on every portfolio."""
        return self.portfolio_id is None and self.scopes >= ALL_SCOPES

    def covers(self, scopes: Iterable[str], portfolio_id: uuid.UUID | None) -> bool:
        """Whether this grant includes ``scopes`` and (if limited) ``portfolio_id``."""
        if not self.scopes.issuperset(scopes):
            return False
        return self.portfolio_id is None or self.portfolio_id == portfolio_id


def scope_of_table(table: str) -> str:
    """The read scope a change of ``table`` needs to be seen (in the change feed, by a webhook)."""
    return "read:transactions" if table == "transactions" else "read:portfolio"
