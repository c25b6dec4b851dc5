"""Hand-computed examples: FIFO, moving average, fees, splits, transfers, merged overdrafts."""

import uuid

from prism.domain.holdings import CostMethod, value_position
from prism.domain.replay import replay
from tests.builders import D, entry

P, Q, A = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
EUR = {P: "EUR", Q: "EUR"}


def test_fifo_sells_the_oldest_lot_first_and_fees_count() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="10", price="100", fee="5"),  # cost 1005
            entry(P, "buy", "2024-02-01", asset_id=A, quantity="10", price="120"),  # cost 1200
            entry(P, "sell", "2024-03-01", asset_id=A, quantity="15", price="130", fee="3"),  # proceeds 1947
        ],
        EUR,
    )
    position = state.positions[(P, A)]
    # FIFO: 1005 + half of 1200 = 1605 sold; 1947 - 1605 = 342 realised; 5 left at 600.
    assert position.realized_fifo == D(342)
    assert position.fifo_cost == D(600)
    assert [(lot.quantity, lot.cost) for lot in position.lots] == [(D(5), D(600))]


def test_moving_average_sells_at_the_average_cost() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="10", price="100", fee="5"),
            entry(P, "buy", "2024-02-01", asset_id=A, quantity="10", price="120"),
            entry(P, "sell", "2024-03-01", asset_id=A, quantity="15", price="130", fee="3"),
        ],
        EUR,
    )
    position = state.positions[(P, A)]
    # Average: 2205 / 20 = 110.25 a unit; 15 x 110.25 = 1653.75 sold; 1947 - 1653.75 = 293.25.
    assert position.realized_average == D("293.25")
    assert position.average_cost == D("551.25")
    fifo = value_position(position.figures(CostMethod.FIFO), "EUR", state.quotes[A], state.fx)
    average = value_position(position.figures(CostMethod.AVERAGE), "EUR", state.quotes[A], state.fx)
    assert fifo.market_value == average.market_value == D(650)
    assert fifo.realized_gain + fifo.unrealized_gain == average.realized_gain + average.unrealized_gain == D(392)


def test_average_cost_division_keeps_the_remainder() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="3", price="10", fee="0.01"),  # 30.01
            entry(P, "sell", "2024-01-02", asset_id=A, quantity="1", price="10"),
            entry(P, "sell", "2024-01-03", asset_id=A, quantity="1", price="10"),
            entry(P, "sell", "2024-01-04", asset_id=A, quantity="1", price="10"),
        ],
        EUR,
    )
    position = state.positions[(P, A)]
    assert position.quantity == 0
    assert position.average_cost == 0  # nothing is lost to rounding
    assert position.realized_average == position.realized_fifo == D("-0.01")


def test_a_split_rescales_lots_but_not_cost() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="2", price="300"),
            entry(P, "split", "2024-06-01", asset_id=A, ratio="4"),
            entry(P, "sell", "2024-07-01", asset_id=A, quantity="4", price="80"),
        ],
        EUR,
    )
    position = state.positions[(P, A)]
    assert position.quantity == 4
    assert position.fifo_cost == position.average_cost == 300
    assert position.realized_fifo == 20  # 320 - 300


def test_split_restates_an_earlier_trade_price() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="1", price="300"),
            entry(P, "split", "2024-06-01", asset_id=A, ratio="3"),
        ],
        EUR,
    )
    assert state.quotes[A].price == 100


def test_dividends_are_gross_and_withholding_reduces_cash() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="10", price="10"),
            entry(P, "dividend", "2024-03-01", asset_id=A, amount="5", tax="1.32"),
        ],
        EUR,
    )
    assert state.positions[(P, A)].dividends == 5
    assert state.cash[(P, "EUR")] == D("-96.32")


def test_a_transfer_moves_lots_with_their_cost_and_dates() -> None:
    state = replay(
        [
            entry(P, "buy", "2024-01-01", asset_id=A, quantity="5", price="10"),
            entry(P, "buy", "2024-02-01", asset_id=A, quantity="5", price="20"),
            entry(P, "transfer", "2024-03-01", asset_id=A, quantity="7", target_portfolio_id=Q),
        ],
        EUR,
    )
    source, target = state.positions[(P, A)], state.positions[(Q, A)]
    assert [(lot.quantity, lot.cost) for lot in target.lots] == [(5, 50), (2, 40)]
    assert target.lots[0].opened.month == 1
    assert source.fifo_cost == 60
    assert target.fifo_cost == 90
    assert source.average_cost == 45
    assert target.average_cost == 105
    assert source.realized_fifo == target.realized_fifo == 0


def test_merged_data_that_oversells_is_flagged_not_rejected() -> None:
    sell = entry(P, "sell", "2024-02-01", asset_id=A, quantity="3", price="10")
    state = replay([entry(P, "buy", "2024-01-01", asset_id=A, quantity="1", price="8"), sell], EUR)
    position = state.positions[(P, A)]
    assert position.quantity == -2
    assert position.overdrafts == [sell.id]
    assert not position.is_consistent
    assert [(lot.quantity, lot.cost) for lot in position.lots] == [(D(-2), D("-20"))]
    # A later buy covers the short lot first.
    state.apply(entry(P, "buy", "2024-03-01", asset_id=A, quantity="2", price="9"))
    assert state.positions[(P, A)].quantity == 0
    assert state.positions[(P, A)].realized_fifo == D(2 + 2)  # 10 - 8, then 20 - 18


def test_same_day_entries_apply_in_entry_order() -> None:
    buy = entry(P, "buy", "2024-01-01", asset_id=A, quantity="1", price="10")
    sell = entry(P, "sell", "2024-01-01", asset_id=A, quantity="1", price="12")
    assert replay([sell, buy], EUR).positions[(P, A)].overdrafts == []
