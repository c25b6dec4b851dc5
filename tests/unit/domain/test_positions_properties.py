"""Properties of the fold over random ledgers (pure domain, no I/O)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from prism.domain.holdings import CostMethod, value_holdings
from prism.domain.ledger import LedgerEntry
from prism.domain.replay import replay
from tests.ledger_strategies import BASES, ops, rates, to_entry

PORTFOLIOS = [uuid.uuid4() for _ in BASES]
ASSETS = [uuid.uuid4() for _ in range(3)]
BASE_OF = dict(zip(PORTFOLIOS, BASES, strict=True))

ledgers = st.lists(st.tuples(ops(), rates), min_size=1, max_size=60).map(
    lambda steps: [to_entry(op, PORTFOLIOS, ASSETS, rate) for op, rate in steps]
)


def _expected_cash(entries: list[LedgerEntry]) -> dict[tuple[uuid.UUID, str], Decimal]:
    """Cash movements written out per type, independently of the domain's table."""
    cash: dict[tuple[uuid.UUID, str], Decimal] = defaultdict(Decimal)
    for e in entries:
        gross = e.amount if e.amount is not None else (e.quantity or 0) * (e.price or 0)
        key = (e.portfolio_id, e.currency)
        match e.type.value:
            case "buy" | "withdrawal" | "fee" | "tax":
                cash[key] -= gross + e.fee + e.tax
            case "sell" | "dividend" | "interest" | "deposit":
                cash[key] += gross - e.fee - e.tax
            case "transfer" if e.asset_id is None:
                assert e.target_portfolio_id is not None
                cash[key] -= gross + e.fee + e.tax
                cash[(e.target_portfolio_id, e.currency)] += gross
            case "transfer":
                cash[key] -= e.fee + e.tax
    return {k: v for k, v in cash.items() if v != 0}


@settings(max_examples=300, deadline=None)
@given(ledgers)
def test_cash_balances_equal_the_sum_of_cash_movements(entries: list[LedgerEntry]) -> None:
    state = replay(entries, BASE_OF)
    assert {k: v for k, v in state.cash.items() if v != 0} == _expected_cash(entries)


@settings(max_examples=300, deadline=None)
@given(ledgers)
def test_realised_plus_unrealised_is_the_same_under_fifo_and_average(entries: list[LedgerEntry]) -> None:
    state = replay(entries, BASE_OF)
    totals = {}
    for method in CostMethod:
        figures = [
            (p.figures(method), BASE_OF[p.portfolio_id], state.quotes.get(p.asset_id)) for p in state.positions.values()
        ]
        totals[method] = {
            (h.asset_id, h.currency): (h.realized_gain + h.unrealized_gain if h.unrealized_gain is not None else None)
            for h in value_holdings(figures, state.fx, combine=True)
        }
    assert totals[CostMethod.FIFO] == totals[CostMethod.AVERAGE]


@settings(max_examples=300, deadline=None)
@given(ledgers)
def test_both_books_hold_the_same_quantity(entries: list[LedgerEntry]) -> None:
    for position in replay(entries, BASE_OF).positions.values():
        assert sum((lot.quantity for lot in position.lots), Decimal(0)) == position.quantity
        signs = {lot.quantity > 0 for lot in position.lots}
        assert len(signs) <= 1  # never long and short at once
        if position.quantity == 0:
            assert position.average_cost == 0
            assert position.fifo_cost == 0
