"""Dividends per asset over a year, from Prism's ledger through the API.

What a budgeting tool needs: each asset's dividends in the year, gross, tax withheld
and net, in the currency they were paid in (amounts stay Decimal from the wire's
strings to the total: never a float)::

    python examples/dividend_report.py 2024 --url http://127.0.0.1:8731 \\
        --token-file ~/.local/share/prism/api-token [--portfolio Broker] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from prism.client import PrismClient
from prism.domain.ledger import TransactionType


@dataclass
class Line:
    """One asset's dividends in one currency."""

    asset: str
    isin: str | None
    currency: str
    payments: int = 0
    gross: Decimal = Decimal(0)
    tax: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        return self.gross - self.tax


def dividends(prism: PrismClient, year: int, portfolio: str | None = None) -> list[Line]:
    """Dividends paid in ``year``, per asset and currency, largest gross first."""
    portfolio_id: uuid.UUID | None = None
    if portfolio is not None:
        portfolio_id = next(p.id for p in prism.portfolios.iter() if p.name == portfolio)
    lines: dict[tuple[uuid.UUID | None, str], Line] = {}
    names: dict[uuid.UUID, tuple[str, str | None]] = defaultdict(lambda: ("?", None))
    for entry in prism.transactions.iter(
        portfolio_id=portfolio_id,
        type=TransactionType.DIVIDEND,
        start=dt.date(year, 1, 1),
        end=dt.date(year, 12, 31),
        limit=500,
    ):
        if entry.asset_id is not None and entry.asset_id not in names:
            asset = prism.assets.get(entry.asset_id)
            names[entry.asset_id] = (asset.name, asset.isin)
        name, isin = names[entry.asset_id] if entry.asset_id is not None else ("(no asset)", None)
        line = lines.setdefault((entry.asset_id, entry.currency), Line(name, isin, entry.currency))
        line.payments += 1
        line.gross += Decimal(entry.amount or "0")
        line.tax += Decimal(entry.tax)
    return sorted(lines.values(), key=lambda line: (-line.gross, line.asset))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("year", type=int)
    parser.add_argument("--portfolio", help="only this portfolio (by name)")
    parser.add_argument("--url", default="http://127.0.0.1:8731")
    parser.add_argument("--token-file", type=Path, required=True)
    parser.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    args = parser.parse_args(argv)
    token = args.token_file.expanduser().read_text().strip()
    with PrismClient(args.url, token) as prism:
        lines = dividends(prism, args.year, args.portfolio)
    if args.json:
        for line in lines:
            record = {"asset": line.asset, "isin": line.isin, "currency": line.currency, "payments": line.payments}
            print(json.dumps(record | {"gross": str(line.gross), "tax": str(line.tax), "net": str(line.net)}))
        return 0
    print(f"{'asset':<32} {'isin':<12} {'ccy':<3} {'n':>3} {'gross':>12} {'tax':>10} {'net':>12}")
    for line in lines:
        isin = line.isin or ""
        print(
            f"{line.asset[:32]:<32} {isin:<12} {line.currency:<3} {line.payments:>3} "
            f"{line.gross:>12} {line.tax:>10} {line.net:>12}"
        )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in lines:
        totals[line.currency] += line.net
    for currency, net in sorted(totals.items()):
        print(f"{'total net':<32} {'':<12} {currency:<3} {'':>3} {'':>12} {'':>10} {net:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
