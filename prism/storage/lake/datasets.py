"""The lake's datasets: their columns, partitions and keys (``docs/lake-format.md``).

Market data (``prices``, ``fx``, ``etf_holdings``) is shared by every owner. What is
derived from one owner's portfolios (``snapshots``, ``results``) lives under
``owner=<id>/`` and is only ever read through owner-scoped queries.

Amounts are Parquet ``DECIMAL(38, s)``: exact, like the ledger, and multiplied by
DuckDB without a detour through floating point.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

__all__ = ["DATASETS", "ETF_HOLDINGS", "FX", "PRICES", "RESULTS", "SNAPSHOTS", "Dataset", "dataset_named"]

PRICE = pa.decimal128(38, 10)
RATE = pa.decimal128(38, 12)
MONEY = pa.decimal128(38, 10)

Partitioning = Literal["year", "none"]


@dataclass(frozen=True, slots=True)
class Dataset:
    """One Parquet dataset of the lake."""

    name: str
    schema: pa.Schema
    #: New rows replace every stored row with the same values in these columns.
    replaces: tuple[str, ...]
    #: Rows are stored sorted by these columns (so min/max statistics skip row groups).
    order: tuple[str, ...]
    #: The date column that says which ``year=`` partition a row belongs to.
    date_column: str
    partitioning: Partitioning = "year"
    per_owner: bool = False

    def partition_of(self, day: dt.date) -> str:
        """The hive partition (``year=2024``) a row dated ``day`` is stored in."""
        return f"year={day.year}" if self.partitioning == "year" else ""


PRICES = Dataset(
    "prices",
    pa.schema(
        [("isin", pa.string()), ("date", pa.date32()), ("close", PRICE), ("currency", pa.string())],
    ),
    replaces=("isin", "date"),
    order=("isin", "date"),
    date_column="date",
)
FX = Dataset(
    "fx",
    # One unit of the pair's first currency costs ``rate`` of its second ("EURUSD").
    pa.schema([("pair", pa.string()), ("date", pa.date32()), ("rate", RATE)]),
    replaces=("pair", "date"),
    order=("pair", "date"),
    date_column="date",
    partitioning="none",
)
ETF_HOLDINGS = Dataset(
    "etf_holdings",
    pa.schema(
        [
            ("fund_isin", pa.string()),
            ("as_of", pa.date32()),
            ("constituent_isin", pa.string()),
            ("constituent_name", pa.string()),
            ("weight", RATE),
            ("country", pa.string()),
            ("sector", pa.string()),
            ("currency", pa.string()),
            ("asset_class", pa.string()),
        ]
    ),
    # A composition is replaced whole: one fund on one date.
    replaces=("fund_isin", "as_of"),
    order=("fund_isin", "as_of"),
    date_column="as_of",
    partitioning="none",
)
SNAPSHOTS = Dataset(
    "snapshots",
    # One portfolio (or "all" of the owner's) at the end of one day, in its currency.
    # Flows are that day's; the totals from ``realized_fifo`` on are running totals.
    pa.schema(
        [
            ("portfolio_id", pa.string()),
            ("date", pa.date32()),
            ("currency", pa.string()),
            ("value", MONEY),
            ("securities", MONEY),
            ("cash", MONEY),
            ("inflow", MONEY),
            ("outflow", MONEY),
            ("external_inflow", MONEY),
            ("external_outflow", MONEY),
            ("unpriced", pa.int32()),
            ("realized_fifo", MONEY),
            ("realized_average", MONEY),
            ("cost_fifo", MONEY),
            ("cost_average", MONEY),
            ("dividends", MONEY),
            ("interest", MONEY),
            ("fees", MONEY),
            ("taxes", MONEY),
        ]
    ),
    replaces=("portfolio_id", "date"),
    order=("portfolio_id", "date"),
    date_column="date",
    partitioning="none",
    per_owner=True,
)
RESULTS = Dataset(
    "results",
    pa.schema(
        [
            ("portfolio_id", pa.string()),
            ("period", pa.string()),
            ("metric", pa.string()),
            ("value", pa.string()),  # a decimal or a date, as text: results mix the two
            ("computed_at", pa.timestamp("us", tz="UTC")),
            ("date", pa.date32()),  # the last day the result covers
        ]
    ),
    replaces=("portfolio_id", "period", "metric"),
    order=("portfolio_id", "period", "metric"),
    date_column="date",
    partitioning="none",
    per_owner=True,
)
DATASETS = {dataset.name: dataset for dataset in (PRICES, FX, ETF_HOLDINGS, SNAPSHOTS, RESULTS)}


def dataset_named(name: str) -> Dataset:
    """The dataset called ``name``."""
    return DATASETS[name]
