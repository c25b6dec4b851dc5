"""``portfolio-performance``: Portfolio Performance's CSV export of transactions.

Its columns, German or English: ``Datum/Date``, ``Typ/Type``, ``Wert/Value`` (signed, the
net amount booked), ``Buchungswährung/Transaction Currency``, ``Bruttobetrag/Gross Amount``,
``Währung Bruttobetrag``, ``Wechselkurs/Exchange Rate``, ``Gebühren/Fees``,
``Steuern/Taxes``, ``Stück/Shares``, ``ISIN``, ``WKN``, ``Ticker-Symbol``,
``Wertpapiername/Security Name``, ``Notiz/Note``. A German export separates fields with
``;`` and writes ``1.234,56``; an English one ``,`` and ``1,234.56``.

The gross amount is the value with fees and taxes put back: a buy's value includes them,
a sell's, a dividend's or interest's value has them taken off. Transfers between PP
accounts and refunds have no Prism equivalent and are reported as such.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from prism.domain.ledger import TransactionType
from prism.imports.formats.base import FormatOptions, ImportFormat, ImportRow, Parsed, RowProblem, Source, register
from prism.imports.formats.text import (
    NumberStyle,
    RowReader,
    canonical_columns,
    header_key,
    read_csv,
    require_columns,
    text_lines,
)

__all__ = ["PORTFOLIO_PERFORMANCE"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("datum",),
    "type": ("typ",),
    "value": ("wert",),
    "currency": ("transaction_currency", "buchungswährung", "buchungswahrung"),
    "fee": ("fees", "gebühren", "gebuhren"),
    "tax": ("taxes", "steuern"),
    "quantity": ("shares", "stück", "stuck"),
    "isin": (),
    "symbol": ("ticker_symbol", "ticker-symbol"),
    "name": ("security_name", "wertpapiername"),
    "note": ("notiz",),
}
_T = TransactionType
_TYPES = {
    header_key(label): kind
    for labels, kind in (
        (("Buy", "Kauf"), _T.BUY),
        (("Sell", "Verkauf"), _T.SELL),
        (("Delivery (Inbound)", "Einlieferung"), _T.DELIVERY_IN),
        (("Delivery (Outbound)", "Auslieferung"), _T.DELIVERY_OUT),
        (("Deposit", "Einlage"), _T.DEPOSIT),
        (("Removal", "Withdrawal", "Entnahme"), _T.WITHDRAWAL),
        (("Dividend", "Dividends", "Dividende"), _T.DIVIDEND),
        (("Interest", "Zinsen"), _T.INTEREST),
        (("Interest Charge", "Zinsbelastung", "Fees", "Gebühren"), _T.FEE),
        (("Taxes", "Steuern"), _T.TAX),
    )
    for label in labels
}
_UNSUPPORTED = {
    header_key(label)
    for label in (
        "Transfer (Inbound)",
        "Transfer (Outbound)",
        "Umbuchung (Eingang)",
        "Umbuchung (Ausgang)",
        "Fees Refund",
        "Gebührenerstattung",
        "Tax Refund",
        "Steuerrückerstattung",
    )
}
#: Types whose value includes fees and taxes (the cost); for the others they were taken off.
_COSTS_INCLUDED = {_T.BUY, _T.DELIVERY_IN}
_WITH_SECURITY = {_T.BUY, _T.SELL, _T.DELIVERY_IN, _T.DELIVERY_OUT, _T.DIVIDEND}


def _row(reader: RowReader, options: FormatOptions) -> ImportRow | None:
    label = reader.required("type")
    if label is not None and header_key(label) in _UNSUPPORTED:
        reader.fail("type", f"{label!r} has no Prism equivalent (import it by hand)")
        return None
    kind = reader.choice("type", _TYPES)
    day = reader.date("date")
    value = reader.number("value", negative=True, required=True)
    fee = reader.number("fee", negative=True)
    tax = reader.number("tax", negative=True)
    quantity = reader.number("quantity", negative=True)
    isin = reader.isin()
    if reader.problems or kind is None or day is None or value is None:
        return None
    fee, tax = abs(fee or Decimal(0)), abs(tax or Decimal(0))
    costs = fee + tax
    gross = abs(value) - costs if kind in _COSTS_INCLUDED else abs(value) + costs
    if kind in {_T.DEPOSIT, _T.WITHDRAWAL, _T.FEE, _T.TAX}:
        gross, fee, tax = abs(value), Decimal(0), Decimal(0)
    security = kind in _WITH_SECURITY or isin is not None
    return ImportRow(
        where=reader.where,
        type=kind,
        date=day,
        currency=reader.text("currency") or options.currency,
        isin=isin if security else None,
        symbol=reader.text("symbol") if security else None,
        name=reader.text("name"),
        quantity=abs(quantity) if quantity is not None and kind in _WITH_SECURITY - {_T.DIVIDEND} else None,
        amount=gross,
        fee=fee,
        tax=tax,
        note=reader.text("note"),
        columns=dict(reader.names, amount=reader.column("value")),
    )


def _parse(data: Source, options: FormatOptions) -> Iterator[Parsed]:
    csv_file = read_csv(text_lines(data))
    names = canonical_columns(csv_file.headers, _ALIASES)
    require_columns(names, "date", "type", "value")
    style = NumberStyle.COMMA if csv_file.delimiter == ";" else NumberStyle.POINT
    for record in csv_file.records:
        if isinstance(record, RowProblem):
            yield record
            continue
        values = {name: record.values.get(header) for name, header in names.items()}
        reader = RowReader(record.where, values, names, style)
        row = _row(reader, options)
        if row is None:
            yield from reader.problems
        else:
            yield row


PORTFOLIO_PERFORMANCE = register(
    ImportFormat(
        "portfolio-performance", "Portfolio Performance's CSV export of transactions (German or English)", _parse
    )
)
