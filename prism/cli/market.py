"""``prism market``: market data into the lake (prices, FX rates, ETF compositions)."""

from __future__ import annotations

import click

__all__ = ["market"]


@click.group()
def market() -> None:
    """Market data in the analytics lake."""
