"""Hypothesis strategies for random ledgers: buys, sells, splits, dividends, deliveries,
transfers, cash movements, back-dated entries and two currencies."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from prism.domain.ledger import LedgerEntry
from tests.builders import entry

START = dt.date(2020, 1, 1)
#: Portfolio bases: two in EUR (securities move between them), one in USD.
BASES = ("EUR", "EUR", "USD")


def _decimal(low: str, high: str, places: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


quantities = _decimal("0.001", "500", 3)
prices = _decimal("0.01", "2000", 4)
costs = st.one_of(st.just(Decimal(0)), _decimal("0.01", "25", 2))
rates = _decimal("0.5", "1.5", 6)
ratios = st.sampled_from([Decimal(2), Decimal(3), Decimal("0.5"), Decimal("1.5")])


@dataclass(frozen=True)
class Op:
    """One step: what kind, in which portfolio (index), of which asset (index), when."""

    kind: str
    portfolio: int
    asset: int
    day: int
    fields: dict[str, Any]
    foreign: bool  # in the other currency, with an FX rate


@st.composite
def ops(draw: st.DrawFn, *, assets: int = 3) -> Op:
    kind = draw(
        st.sampled_from(
            [
                "buy",
                "buy",
                "buy",
                "sell",
                "sell",
                "dividend",
                "deposit",
                "withdrawal",
                "interest",
                "fee",
                "tax",
                "delivery_in",
                "delivery_out",
                "split",
                "transfer",
                "cash_transfer",
            ]
        )
    )
    portfolio = draw(st.integers(0, len(BASES) - 1))
    asset = draw(st.integers(0, assets - 1))
    day = draw(st.integers(0, 3 * 365))
    fields: dict[str, Any] = {}
    foreign = draw(st.booleans()) and kind not in ("split", "cash_transfer", "transfer")
    if kind in ("buy", "sell", "delivery_in", "delivery_out"):
        fields = {"quantity": draw(quantities), "price": draw(prices), "fee": draw(costs), "tax": draw(costs)}
    elif kind in ("dividend", "interest"):
        fields = {"amount": draw(prices), "tax": draw(costs)}
    elif kind in ("deposit", "withdrawal", "fee", "tax"):
        fields = {"amount": draw(prices)}
    elif kind == "split":
        fields = {"ratio": draw(ratios)}
    elif kind == "transfer":
        portfolio = draw(st.integers(0, 1))  # between the two EUR portfolios
        fields = {"quantity": draw(quantities), "fee": draw(costs)}
    elif kind == "cash_transfer":
        fields = {"amount": draw(prices)}
    return Op(kind, portfolio, asset, day, fields, foreign)


def to_entry(op: Op, portfolios: list[uuid.UUID], assets: list[uuid.UUID], rate: Decimal) -> LedgerEntry:
    """The ledger entry an op stands for, in the given account."""
    base = BASES[op.portfolio]
    currency = ("USD" if base == "EUR" else "EUR") if op.foreign else base
    fields = dict(op.fields)
    if op.foreign:
        fields["fx_rate"] = rate
    day = START + dt.timedelta(days=op.day)
    pid = portfolios[op.portfolio]
    if op.kind == "transfer":
        return entry(
            pid, "transfer", day, asset_id=assets[op.asset], target_portfolio_id=portfolios[1 - op.portfolio], **fields
        )
    if op.kind == "cash_transfer":
        target = portfolios[(op.portfolio + 1) % len(portfolios)]
        return entry(pid, "transfer", day, currency=base, target_portfolio_id=target, **fields)
    if op.kind in ("deposit", "withdrawal", "fee", "tax", "interest"):
        return entry(pid, op.kind, day, currency=currency, **fields)
    return entry(pid, op.kind, day, currency=currency, asset_id=assets[op.asset], **fields)
