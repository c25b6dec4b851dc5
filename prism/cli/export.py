"""``prism export OUT`` and ``prism import export-dir OUT``: the account's whole data out
to a folder, and back into an empty database (``docs/export-format.md``)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import click
from rich.progress import Progress, TaskID
from rich.table import Table

from prism.cli.terminal import console, progress_bar, run_async, upgraded_store
from prism.config import Settings
from prism.errors import NotFoundError
from prism.export.layout import EXPORT_TABLES, FILE_FORMATS
from prism.export.write import export_account
from prism.imports.export_dir import restore_export
from prism.storage.catalog import device_account

__all__ = ["export", "export_dir"]


class _Bars:
    """One progress bar per table, made when the table starts."""

    def __init__(self, progress: Progress, verb: str) -> None:
        self._progress = progress
        self._verb = verb
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, table: str, done: int, total: int) -> None:
        task = self._tasks.get(table)
        if task is None:
            task = self._tasks[table] = self._progress.add_task(f"{self._verb} {table}", total=max(total, 1))
        self._progress.update(task, completed=done if total else 1, total=max(total, 1))


def _summary(title: str, rows: dict[str, int], files: dict[str, str] | None = None) -> Table:
    table = Table(title=title)
    table.add_column("table")
    table.add_column("rows", justify="right")
    if files is not None:
        table.add_column("sha256")
    for name, count in rows.items():
        cells = [name, f"{count:,}"] + ([files[name][:16] + "…"] if files is not None else [])
        table.add_row(*cells)
    return table


@click.command("export")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "file_format", type=click.Choice(FILE_FORMATS), default="json", show_default=True)
@click.option("--account", "account", help="Account id to export (default: the device's account).")
@click.pass_obj
def export(settings: Settings, out: Path, file_format: str, account: str | None) -> None:
    """Write every user table of the account into the new folder OUT, exactly."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            owner = uuid.UUID(account) if account else await database.read(device_account)
            if owner is None:
                raise NotFoundError("no account yet: nothing to export")
            started = time.perf_counter()
            with progress_bar() as progress:
                report = await export_account(database, owner, out, file_format, _Bars(progress, "exporting"))
            elapsed = time.perf_counter() - started
        rows = {t["name"]: int(t["rows"]) for t in report.tables}
        files = {t["name"]: str(t["sha256"]) for t in report.tables}
        console.print(_summary(f"exported to {out} ({file_format})", rows, files))
        console.print(f"exported {sum(rows.values()):,} rows in {elapsed:.2f} s")

    try:
        run_async(run())
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--account") from error


@click.command("export-dir")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_obj
def export_dir(settings: Settings, folder: Path) -> None:
    """Restore a `prism export` FOLDER into an empty database (ids, timestamps and tombstones kept)."""

    async def run() -> None:
        async with upgraded_store(settings) as database:
            started = time.perf_counter()
            with progress_bar() as progress:
                report = await restore_export(database, folder, _Bars(progress, "restoring"))
            elapsed = time.perf_counter() - started
        rows = {spec.name: report.rows.get(spec.name, 0) for spec in EXPORT_TABLES}
        console.print(_summary(f"restored ({report.file_format})", rows))
        console.print(f"account {report.account_id}")
        console.print(f"restored {sum(rows.values()):,} rows in {elapsed:.2f} s; positions rebuilt")

    run_async(run())
