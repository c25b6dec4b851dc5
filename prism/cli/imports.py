"""``prism import``: transactions, the existing app's folders, and Prism's own exports."""

from __future__ import annotations

import click

__all__ = ["import_group"]


@click.group("import")
def import_group() -> None:
    """Bring data into Prism (each import is all or nothing, and idempotent)."""


# Subcommands register here, one line each.
from prism.cli.import_legacy import legacy  # noqa: E402

import_group.add_command(legacy)
from prism.cli.export import export_dir  # noqa: E402

import_group.add_command(export_dir)
from prism.cli.import_transactions import transactions  # noqa: E402

import_group.add_command(transactions)
