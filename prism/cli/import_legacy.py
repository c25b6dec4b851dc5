"""``prism import legacy DIR``: the existing desktop app's data folder into Prism."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from prism.cli.terminal import console, run_async, upgraded_store
from prism.config import Settings
from prism.imports.legacy import LegacyReport, import_legacy
from prism.storage.device_lake import open_device_lake

__all__ = ["legacy"]

_SHOWN_NOTES = 15


@click.command("legacy")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--as-of",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Date of the opening positions (default: each holdings file's modification date).",
)
@click.option("--dry-run", is_flag=True, help="Report what would be imported; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
@click.pass_obj
def legacy(settings: Settings, directory: Path, as_of: dt.datetime | None, dry_run: bool, as_json: bool) -> None:
    """Import the old app's data folder DIRECTORY (see docs/legacy-import.md).

    Assets, opening positions and enrichment are written in one transaction; ETF
    compositions go to the lake after it. A second run adds nothing.
    """
    report = run_async(_run(settings, directory, as_of.date() if as_of else None, dry_run))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    console.print(_table(report))
    for entry in report.files:
        for note in entry.notes[:_SHOWN_NOTES]:
            console.print(Text.assemble((entry.path, "dim"), " ", note), highlight=False)
        if len(entry.notes) > _SHOWN_NOTES:
            console.print(f"{entry.path}: {len(entry.notes) - _SHOWN_NOTES} more note(s)", highlight=False)


async def _run(settings: Settings, directory: Path, as_of: dt.date | None, dry_run: bool) -> LegacyReport:
    async with upgraded_store(settings) as database:
        lake = open_device_lake(settings)
        try:
            with console.status(f"importing {directory}"):
                return await import_legacy(
                    database, lake, settings.lake_lock_path, directory, as_of=as_of, dry_run=dry_run
                )
        finally:
            lake.close()


def _table(report: LegacyReport) -> Table:
    title = f"{'Dry run: would import' if report.dry_run else 'Imported'} {report.directory}"
    table = Table(title=title, title_justify="left")
    table.add_column("file")
    table.add_column("format")
    table.add_column("imported", justify="right")
    table.add_column("unchanged", justify="right")
    table.add_column("skipped", justify="right")
    for entry in report.files:
        table.add_row(entry.path, entry.format, str(entry.imported), str(entry.unchanged), str(entry.skipped))
    return table
