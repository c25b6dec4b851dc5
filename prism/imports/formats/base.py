"""What every import format shares: the rows it yields, its problems, and the registry.

A format turns a file into :class:`ImportRow` values (typed, exact, not yet tied to a
portfolio or an asset) and :class:`RowProblem` values (a row it could not read). The
service (:mod:`prism.imports.transactions`) does the rest: identities, assets, ledger rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from prism.domain.ledger import TransactionType
from prism.errors import ValidationError

__all__ = [
    "FormatOptions",
    "ImportFormat",
    "ImportRow",
    "Parsed",
    "RowNote",
    "RowProblem",
    "Source",
    "format_names",
    "get_format",
    "register",
]


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A row that cannot be imported: where (``line 14``), which column, and why."""

    where: str
    column: str
    message: str

    @property
    def field(self) -> str:
        """The row and column as one field name (``line 14: quantity``)."""
        return f"{self.where}: {self.column}" if self.column else self.where


@dataclass(frozen=True, slots=True)
class RowNote:
    """A row left out on purpose (not an error): a zero position, a summary line."""

    where: str
    message: str


@dataclass(frozen=True, slots=True)
class ImportRow:
    """One transaction as a file states it, parsed exactly but not yet checked against the ledger."""

    where: str
    type: TransactionType
    date: dt.date
    currency: str | None = None
    isin: str | None = None
    symbol: str | None = None
    name: str | None = None
    kind: str | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    fee: Decimal | None = None
    tax: Decimal | None = None
    fx_rate: Decimal | None = None
    ratio: Decimal | None = None
    external_id: str | None = None
    note: str | None = None
    #: What identifies the row when the file has no id (hashed); None: its normalised content.
    identity: str | None = None
    #: Source column of each field, for error messages (``quantity`` -> ``Stück``).
    columns: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> str:
        """How the file calls field ``name``."""
        return self.columns.get(name, name)


Parsed = ImportRow | RowProblem | RowNote
#: A file to import: its bytes (an upload), or its path (read as a stream, never whole).
Source = bytes | Path


@dataclass(frozen=True, slots=True)
class FormatOptions:
    """Choices a format may need: the date of opening positions, a default currency."""

    date: dt.date | None = None
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class ImportFormat:
    """A file format: its name, the ``source`` its transactions record, and its parser."""

    name: str
    summary: str
    parse: Callable[[Source, FormatOptions], Iterable[Parsed]]
    #: Recorded as each transaction's ``source`` (and part of its deterministic id).
    source: str = ""

    def __post_init__(self) -> None:
        if not self.source:
            object.__setattr__(self, "source", self.name)


_REGISTRY: dict[str, ImportFormat] = {}


def register(import_format: ImportFormat) -> ImportFormat:
    """Make ``import_format`` available by its name (a module registers itself on import)."""
    if import_format.name in _REGISTRY and _REGISTRY[import_format.name] is not import_format:
        raise ValueError(f"two import formats are called {import_format.name!r}")
    _REGISTRY[import_format.name] = import_format
    return import_format


def get_format(name: str) -> ImportFormat:
    """The registered format ``name``, or a :class:`ValidationError` listing the known ones."""
    found = _REGISTRY.get(name.strip().lower())
    if found is None:
        raise ValidationError(f"unknown format {name!r}; known: {', '.join(format_names())}", field="format")
    return found


def format_names() -> list[str]:
    """The registered formats' names, sorted."""
    return sorted(_REGISTRY)
