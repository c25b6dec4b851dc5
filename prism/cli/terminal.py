"""What every command shares: the rich console, progress bars, and running async work."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from prism.config import Settings
from prism.errors import PrismError
from prism.migrations import open_upgraded
from prism.storage.engine import Database

__all__ = ["console", "progress_bar", "run_async", "upgraded_store"]

console = Console()
R = TypeVar("R")


def run_async(coroutine: Coroutine[Any, Any, R]) -> R:
    """Run a command's coroutine; a domain error becomes a clean one-line CLI error."""
    try:
        return asyncio.run(coroutine)
    except PrismError as error:
        raise click.ClickException(str(error)) from error


@asynccontextmanager
async def upgraded_store(settings: Settings) -> AsyncIterator[Database]:
    """The configured store, migrated first (a device file is copied aside), closed after."""
    database = await open_upgraded(settings.database)
    try:
        yield database
    finally:
        await database.dispose()


def progress_bar() -> Progress:
    """A transient progress bar: description, bar, n of m, elapsed."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
