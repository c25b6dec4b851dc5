"""``generic``: Prism's documented CSV of transactions (``docs/imports.md``).

One transaction a line; a header names the columns, with aliases (``qty``, ``shares``,
``commission``...). Separators ``,``, ``;`` or tab; a ``;`` file may write decimal commas.
"""

from __future__ import annotations

from collections.abc import Iterator

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

__all__ = ["ALIASES", "GENERIC", "TYPES"]

#: Canonical column -> other headers read as it.
ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("day", "trade_date", "booking_date", "datum"),
    "type": ("action", "transaction_type", "kind_of_transaction", "typ"),
    "isin": ("security_isin",),
    "symbol": ("ticker", "ticker_symbol"),
    "name": ("security", "security_name", "description", "asset"),
    "kind": ("asset_kind", "asset_class"),
    "quantity": ("qty", "shares", "units", "stuck", "st_ck"),
    "price": ("unit_price", "price_per_share", "kurs"),
    "amount": ("value", "gross", "gross_amount", "total", "betrag"),
    "fee": ("fees", "commission", "gebuhren", "geb_hren"),
    "tax": ("taxes", "steuern"),
    "currency": ("ccy", "currency_code", "wahrung", "w_hrung"),
    "fx_rate": ("fx", "exchange_rate", "rate"),
    "ratio": ("split_ratio",),
    "external_id": ("id", "transaction_id", "reference", "ref", "order_id"),
    "note": ("notes", "comment", "memo"),
}

#: Type names read as each transaction type (besides the type's own value).
TYPES: dict[str, TransactionType] = {
    **{t.value: t for t in TransactionType},
    "purchase": TransactionType.BUY,
    "sale": TransactionType.SELL,
    "dividends": TransactionType.DIVIDEND,
    "fees": TransactionType.FEE,
    "taxes": TransactionType.TAX,
    "removal": TransactionType.WITHDRAWAL,
    "delivery_inbound": TransactionType.DELIVERY_IN,
    "delivery_outbound": TransactionType.DELIVERY_OUT,
}
TYPES = {header_key(name): kind for name, kind in TYPES.items()}


def _parse(data: Source, options: FormatOptions) -> Iterator[Parsed]:
    csv_file = read_csv(text_lines(data))
    names = canonical_columns(csv_file.headers, ALIASES)
    require_columns(names, "date", "type")
    style = NumberStyle.MIXED if csv_file.delimiter == ";" else NumberStyle.POINT
    for record in csv_file.records:
        if isinstance(record, RowProblem):
            yield record
            continue
        values = {name: record.values.get(header) for name, header in names.items()}
        reader = RowReader(record.where, values, names, style)
        kind = reader.choice("type", TYPES)
        day = reader.date("date")
        isin = reader.isin()
        quantity, price, amount = reader.number("quantity"), reader.number("price"), reader.number("amount")
        fee, tax, fx_rate, ratio = (reader.number(name) for name in ("fee", "tax", "fx_rate", "ratio"))
        if reader.problems or kind is None or day is None:
            yield from reader.problems
            continue
        yield ImportRow(
            where=record.where,
            type=kind,
            date=day,
            currency=reader.text("currency") or options.currency,
            isin=isin,
            symbol=reader.text("symbol"),
            name=reader.text("name"),
            kind=reader.text("kind"),
            external_id=reader.text("external_id"),
            note=reader.text("note"),
            quantity=quantity,
            price=price,
            amount=amount,
            fee=fee,
            tax=tax,
            fx_rate=fx_rate,
            ratio=ratio,
            columns=names,
        )


GENERIC = register(ImportFormat("generic", "Prism's documented CSV (docs/imports.md)", _parse))
