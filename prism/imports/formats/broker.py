"""``broker``: the position export the old app read, ``Name;ISIN;quantity;avgCost;netValue``.

A snapshot of positions, not transactions: each line becomes an opening position
(``delivery_in`` of ``quantity`` at ``avgCost`` per unit) dated ``--date`` (today when
not given), in ``--currency`` (EUR, the old app's currency, when not given). Its
identity is the ISIN, quantity and cost, not the date or the day's value: importing the
same snapshot again, on any day, adds nothing. Zero quantities are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prism.domain.ledger import TransactionType
from prism.domain.money import canonical
from prism.imports.formats.base import (
    FormatOptions,
    ImportFormat,
    ImportRow,
    Parsed,
    RowNote,
    RowProblem,
    Source,
    register,
)
from prism.imports.formats.text import (
    NumberStyle,
    RowReader,
    canonical_columns,
    read_csv,
    require_columns,
    text_lines,
)

__all__ = ["BROKER", "LEGACY_CURRENCY"]

#: The old app kept everything in euros (its broker's currency).
LEGACY_CURRENCY = "EUR"
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("tr_name",),
    "isin": (),
    "quantity": ("qty", "shares"),
    "price": ("avgcost", "avg_cost", "average_cost"),
    "net_value": ("netvalue", "tr_value", "value"),
}


def _parse(data: Source, options: FormatOptions) -> Iterator[Parsed]:
    csv_file = read_csv(text_lines(data))
    names = canonical_columns(csv_file.headers, _ALIASES)
    require_columns(names, "isin", "quantity", "price")
    style = NumberStyle.MIXED if csv_file.delimiter == ";" else NumberStyle.POINT
    day = options.date or dt.datetime.now(dt.UTC).date()
    for record in csv_file.records:
        if isinstance(record, RowProblem):
            yield record
            continue
        values = {name: record.values.get(header) for name, header in names.items()}
        reader = RowReader(record.where, values, names, style)
        isin = reader.isin() if reader.required("isin") else None
        quantity = reader.number("quantity", required=True)
        price = reader.number("price", required=True)
        if reader.problems or isin is None or quantity is None or price is None:
            yield from reader.problems
            continue
        if not quantity:
            yield RowNote(record.where, f"{isin}: a zero quantity, nothing to open")
            continue
        yield ImportRow(
            where=record.where,
            type=TransactionType.DELIVERY_IN,
            date=day,
            currency=options.currency or LEGACY_CURRENCY,
            isin=isin,
            name=reader.text("name"),
            quantity=quantity,
            price=price,
            identity=f"position|{isin}|{canonical(quantity)}|{canonical(price)}",
            columns=names,
        )


BROKER = register(
    ImportFormat(
        "broker", "The old app's broker export Name;ISIN;quantity;avgCost;netValue (opening positions)", _parse
    )
)
