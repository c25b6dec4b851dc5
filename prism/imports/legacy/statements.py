"""The statement parser's ``trades.csv`` and ``transactions.csv``, read as ledger rows.

``trades.csv``: ``TRADE_TYPE,ISIN,NAME,QUANTITY,PRICE,DATE,TYPE,DESCRIPTION,AMOUNT,BALANCE``;
``transactions.csv``: ``DATE,TYPE,DESCRIPTION,AMOUNT,BALANCE`` with TYPE in TRADE,
INTEREST_PAYMENT, DIVIDENDS, PREMIUM, TRANSFER. Dates are statement German
(``02 Okt. 2025``), amounts carry ``€`` and may use decimal commas.

The parser had a defect: fractional quantities were written as integers
(0.119274 as ``119274.0``). A trade whose quantity x price is more than ten times
off its AMOUNT (either way) is reported as corrupted and never imported. TRADE
rows of ``transactions.csv`` are left to ``trades.csv`` (the same trades).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from prism.domain.isin import parse_isin
from prism.domain.ledger import TransactionType
from prism.errors import ValidationError
from prism.imports.legacy.report import FileReport
from prism.imports.legacy.text import parse_date, parse_number, read_csv_rows

__all__ = ["CORRUPTION_FACTOR", "StatementRow", "read_cash", "read_trades"]

#: quantity x price this many times off AMOUNT is the integer-quantity defect, not a fee.
CORRUPTION_FACTOR = Decimal(10)
_BUY = {"buy", "kauf", "sparplan", "savings_plan", "savings plan", "purchase"}
_SELL = {"sell", "verkauf", "sale"}
_ISIN_IN_TEXT = re.compile(r"\b[A-Z]{2}[A-Z0-9]{9}[0-9]\b")


@dataclass(frozen=True, slots=True)
class StatementRow:
    """One ledger row a statement file gives; ``key`` identifies it across runs."""

    type: TransactionType
    date: dt.date
    key: str
    amount: Decimal
    isin: str | None = None
    name: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    fee: Decimal = Decimal(0)
    line: int = 0


def _keyed(rows: list[StatementRow]) -> list[StatementRow]:
    """Rows with an occurrence number in their key: identical rows on a statement are distinct."""
    seen: Counter[str] = Counter()
    keyed = []
    for row in rows:
        seen[row.key] += 1
        keyed.append(dataclasses.replace(row, key=f"{row.key}|{seen[row.key]}"))
    return keyed


def _trade(line: int, row: dict[str, str], comma: bool, report: FileReport) -> StatementRow | None:
    where = f"line {line}"
    side = row.get("trade_type", "").strip().casefold()
    kind = TransactionType.BUY if side in _BUY else TransactionType.SELL if side in _SELL else None
    if kind is None:
        report.skip(where, f"unknown trade type {row.get('trade_type')!r}")
        return None
    try:
        isin = parse_isin(row.get("isin", ""))
    except ValidationError as error:
        report.skip(where, str(error))
        return None
    date = parse_date(row.get("date"))
    quantity = parse_number(row.get("quantity"), decimal_comma=comma)
    price = parse_number(row.get("price"), decimal_comma=comma)
    amount = parse_number(row.get("amount"), decimal_comma=comma)
    if date is None:
        report.skip(where, f"date {row.get('date')!r} is not a date")
        return None
    if quantity is None or quantity <= 0:
        report.skip(where, f"quantity {row.get('quantity')!r} is not a positive number")
        return None
    total = abs(amount) if amount is not None else None
    if price is None or price <= 0:
        if not total:
            report.skip(where, "neither a price nor an amount")
            return None
        price = total / quantity
    gross = quantity * price
    if total and (gross > total * CORRUPTION_FACTOR or gross * CORRUPTION_FACTOR < total):
        report.skip(
            where,
            f"corrupted quantity: {quantity} x {price} = {gross} but AMOUNT is {total} "
            "(the parser's integer-quantity defect); not imported",
        )
        return None
    fee = Decimal(0)
    if total is not None:
        fee = total - gross if kind is TransactionType.BUY else gross - total
        fee = max(fee, Decimal(0))
    return StatementRow(
        type=kind,
        date=date,
        key=f"{date.isoformat()}|{isin}|{kind.value}|{quantity}|{row.get('amount', '')}",
        amount=gross,
        isin=isin,
        name=row.get("name") or None,
        quantity=quantity,
        price=price,
        fee=fee,
        line=line,
    )


def read_trades(path: Path, report: FileReport) -> list[StatementRow]:
    """The trades of one ``trades.csv``, corrupted and unreadable ones reported."""
    table = read_csv_rows(path)
    rows = [_trade(line, row, table.decimal_comma, report) for line, row in table.rows]
    return _keyed([row for row in rows if row is not None])


def _cash(line: int, row: dict[str, str], comma: bool, report: FileReport) -> StatementRow | None:
    where = f"line {line}"
    kind_text = row.get("type", "").strip().upper()
    if kind_text == "TRADE":
        report.skip(where, "a trade: imported from trades.csv")
        return None
    date = parse_date(row.get("date"))
    amount = parse_number(row.get("amount"), decimal_comma=comma)
    if date is None or amount is None or amount == 0:
        report.skip(where, f"date {row.get('date')!r} or amount {row.get('amount')!r} unreadable or zero")
        return None
    description = row.get("description", "")
    isin = None
    if kind_text == "DIVIDENDS":
        kind = TransactionType.DIVIDEND
        isin = next((m for m in _ISIN_IN_TEXT.findall(description) if _valid(m)), None)
        if isin is None:
            report.skip(where, "a dividend whose description names no ISIN")
            return None
    elif kind_text == "INTEREST_PAYMENT":
        kind = TransactionType.INTEREST if amount > 0 else TransactionType.FEE
    elif kind_text in ("PREMIUM", "TRANSFER"):
        kind = TransactionType.DEPOSIT if amount > 0 else TransactionType.WITHDRAWAL
    else:
        report.skip(where, f"unknown type {row.get('type')!r}")
        return None
    return StatementRow(
        type=kind,
        date=date,
        key=f"{date.isoformat()}|{kind_text}|{row.get('amount', '')}|{row.get('balance', '')}",
        amount=abs(amount),
        isin=isin,
        name=description or None,
        line=line,
    )


def _valid(text: str) -> bool:
    try:
        parse_isin(text)
    except ValidationError:
        return False
    return True


def read_cash(path: Path, report: FileReport) -> list[StatementRow]:
    """The cash entries of one ``transactions.csv`` (interest, dividends, premiums, transfers)."""
    table = read_csv_rows(path)
    rows = [_cash(line, row, table.decimal_comma, report) for line, row in table.rows]
    return _keyed([row for row in rows if row is not None])
