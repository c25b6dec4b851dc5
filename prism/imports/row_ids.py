"""Each imported row's external id: the file's own, or a hash of its content and an
occurrence counter.

Identical rows (two buys of the same quantity at the same price on the same day) are
distinct transactions, so the n-th occurrence of a content hash gets ``:n``; a second
import of the same file, here or on another device, counts the same way and finds
every id already stored.

Memory stays flat for files in date order: identical rows share their date, so only
the current day's counters are kept. A file whose dates go backwards makes
:meth:`RowIdentities.external_id` raise :class:`UnsortedRowsError` unless every day's
counters are kept (``keep_all``); the importer then reads the file again that way.
A file's own ids are remembered to find repeats, so they cost memory in proportion.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence

from prism.domain.money import canonical
from prism.imports.formats import ImportRow, RowProblem

__all__ = ["RowIdentities", "UnsortedRowsError", "row_external_ids"]


class UnsortedRowsError(Exception):
    """A row dated before an earlier one, while only the current day's counters are kept."""


def _fingerprint(row: ImportRow, portfolio_id: uuid.UUID) -> str:
    if row.identity is not None:
        content = f"{portfolio_id}|{row.identity}"
    else:
        numbers = (row.quantity, row.price, row.amount, row.fee, row.tax, row.fx_rate, row.ratio)
        parts = [
            str(portfolio_id),
            row.type.value,
            row.date.isoformat(),
            (row.isin or "").strip().upper(),
            (row.symbol or "").strip().upper(),
            (row.currency or "").strip().upper(),
            *("" if n is None else canonical(n) for n in numbers),
            (row.note or "").strip(),
        ]
        content = "|".join(parts)
    return hashlib.sha256(content.encode()).hexdigest()[:32]


class RowIdentities:
    """Hands out external ids row by row, in file order."""

    def __init__(self, portfolio_id: uuid.UUID, *, keep_all: bool = False) -> None:
        self._portfolio = portfolio_id
        self._keep_all = keep_all
        self._day: dt.date | None = None
        self._counts: dict[dt.date, Counter[str]] = {}
        self._own: dict[str, str] = {}

    def external_id(self, row: ImportRow) -> str | RowProblem:
        """``row``'s external id, or the problem of a repeated own id."""
        if row.external_id is not None:
            own = row.external_id.strip()
            first = self._own.setdefault(own, row.where)
            if first != row.where:
                return RowProblem(row.where, row.column("external_id"), f"id {own!r} appears twice (first at {first})")
            return own
        if self._day is not None and row.date != self._day and not self._keep_all:
            if row.date < self._day:
                raise UnsortedRowsError(row.where)
            self._counts.clear()  # in date order: no later row shares an earlier day
        self._day = row.date
        digest = _fingerprint(row, self._portfolio)
        counts = self._counts.setdefault(row.date, Counter())
        counts[digest] += 1
        return f"h:{digest}:{counts[digest]}"


def row_external_ids(rows: Sequence[ImportRow], portfolio_id: uuid.UUID) -> tuple[list[str], list[RowProblem]]:
    """Each row's external id (its own, or content hash and occurrence), and repeated own ids."""
    identities = RowIdentities(portfolio_id, keep_all=True)
    ids: list[str] = []
    problems: list[RowProblem] = []
    for row in rows:
        found = identities.external_id(row)
        if isinstance(found, RowProblem):
            problems.append(found)
            found = (row.external_id or "").strip()
        ids.append(found)
    return ids, problems
