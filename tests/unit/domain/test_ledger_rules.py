"""Rules every ledger entry obeys on its own."""

import uuid

import pytest

from prism.domain.ledger import cash_effects, validate_entry
from prism.errors import ValidationError
from tests.builders import D, entry

P, Q, A = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
BASES = {P: "EUR", Q: "USD"}


@pytest.mark.parametrize(
    ("kind", "fields", "field"),
    [
        ("buy", {"asset_id": A, "quantity": "0", "price": "1"}, "quantity"),
        ("buy", {"asset_id": A, "quantity": "-1", "price": "1"}, "quantity"),
        ("buy", {"quantity": "1", "price": "1"}, "asset_id"),
        ("sell", {"asset_id": A, "quantity": "1"}, "price"),
        ("split", {"asset_id": A, "ratio": "0"}, "ratio"),
        ("split", {"asset_id": A}, "ratio"),
        ("dividend", {"asset_id": A}, "amount"),
        ("deposit", {"amount": "10", "asset_id": A}, "asset_id"),
        ("deposit", {"amount": "10", "fee": "-1"}, "fee"),
        ("deposit", {"amount": "10", "fx_rate": "1.1"}, "fx_rate"),
        ("transfer", {"amount": "10"}, "target_portfolio_id"),
        ("transfer", {"amount": "10", "target_portfolio_id": P}, "target_portfolio_id"),
        ("transfer", {"asset_id": A, "quantity": "1", "target_portfolio_id": Q}, "fx_rate"),
    ],
)
def test_invalid_entries_name_the_field(kind: str, fields: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_entry(entry(P, kind, "2024-01-01", **fields), BASES)
    assert raised.value.field == field


def test_an_unknown_currency_is_rejected() -> None:
    with pytest.raises(ValidationError) as raised:
        validate_entry(entry(P, "deposit", "2024-01-01", currency="XYZ", amount="1"), BASES)
    assert raised.value.field == "currency"


def test_a_foreign_currency_trade_needs_its_rate() -> None:
    trade = entry(P, "buy", "2024-01-01", currency="USD", asset_id=A, quantity="1", price="10")
    with pytest.raises(ValidationError, match="USD is not the portfolio's currency") as raised:
        validate_entry(trade, BASES)
    assert raised.value.field == "fx_rate"


def test_cash_effects_of_each_kind() -> None:
    buy = entry(P, "buy", "2024-01-01", asset_id=A, quantity="2", price="10", fee="1", tax="0.5")
    sell = entry(P, "sell", "2024-01-01", asset_id=A, quantity="2", price="10", fee="1")
    dividend = entry(P, "dividend", "2024-01-01", asset_id=A, amount="10", tax="2.5")
    transfer = entry(P, "transfer", "2024-01-01", amount="100", fee="1", target_portfolio_id=Q)
    delivery = entry(P, "delivery_in", "2024-01-01", asset_id=A, quantity="2", price="10")
    assert cash_effects(buy) == [(P, "EUR", D("-21.5"))]
    assert cash_effects(sell) == [(P, "EUR", D("19"))]
    assert cash_effects(dividend) == [(P, "EUR", D("7.5"))]
    assert cash_effects(transfer) == [(P, "EUR", D("-101")), (Q, "EUR", D("100"))]
    assert cash_effects(delivery) == []
