"""Terminal tables of holdings and portfolios (rich), for the `prism` command."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from rich.table import Table

from prism.domain.holdings import Holding
from prism.domain.positions import CostMethod
from prism.storage.catalog import Portfolio
from prism.storage.holdings import CashBalance

__all__ = ["cash_line", "holdings_table", "summary_table"]


def _money(value: Decimal | None, places: int = 2) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{places}f}"


def _gain(value: Decimal | None) -> str:
    text = _money(value)
    if value is None or value == 0:
        return text
    return f"[green]{text}[/green]" if value > 0 else f"[red]{text}[/red]"


def holdings_table(
    name: str, currency: str, method: CostMethod, found: list[Holding], assets: dict[uuid.UUID, Any]
) -> Table:
    table = Table(title=f"{name} ({currency}, {method.value})", title_justify="left")
    table.add_column("asset", ratio=1, overflow="fold")
    for column in ("quantity", "cost basis", "value", "unrealised", "realised", "dividends"):
        table.add_column(column, justify="right", no_wrap=True)
    totals = [Decimal(0)] * 5
    for holding in sorted(found, key=lambda h: -(h.market_value or 0)):
        asset = assets.get(holding.asset_id)
        flag = "" if holding.consistent else " [red](inconsistent)[/red]"
        label = f"{asset.name} [dim]{asset.isin or ''}[/dim]" if asset else str(holding.asset_id)
        table.add_row(
            label + flag,
            _money(holding.quantity, 3),
            _money(holding.cost_basis),
            _money(holding.market_value),
            _gain(holding.unrealized_gain),
            _gain(holding.realized_gain),
            _money(holding.dividends),
        )
        for index, value in enumerate(
            (
                holding.cost_basis,
                holding.market_value,
                holding.unrealized_gain,
                holding.realized_gain,
                holding.dividends,
            )
        ):
            totals[index] += value or 0
    table.add_section()
    table.add_row(
        "total", "", _money(totals[0]), _money(totals[1]), _gain(totals[2]), _gain(totals[3]), _money(totals[4])
    )
    return table


def cash_line(cash: list[CashBalance]) -> str:
    """Cash balances on one line: ``1,234.50 EUR, 20.00 USD``."""
    return ", ".join(f"{_money(b.balance)} {b.currency}" for b in cash) or "none"


def summary_table(rows: list[tuple[Portfolio, list[Holding], list[CashBalance]]]) -> Table:
    """One line per portfolio: positions, cost, value, gains, cash."""
    table = Table(title="Portfolios", title_justify="left")
    table.add_column("portfolio")
    for column in ("positions", "cost basis", "value", "unrealised", "realised", "dividends"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("cash")
    for portfolio, found, cash in rows:

        def total(name: str, items: list[Holding] = found) -> Decimal:
            return sum((getattr(h, name) or Decimal(0) for h in items), Decimal(0))

        table.add_row(
            f"{portfolio.name} ({portfolio.base_currency})",
            str(len(found)),
            _money(total("cost_basis")),
            _money(total("market_value")),
            _gain(total("unrealized_gain")),
            _gain(total("realized_gain")),
            _money(total("dividends")),
            cash_line(cash),
        )
    return table
