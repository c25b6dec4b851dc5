"""The ``prism`` command: the device's data, its sync, backups, imports and the API server.

prism demo                      # a sample portfolio in the device database, then its holdings
prism holdings --method average # what you hold, per portfolio
prism serve                     # the HTTP API
prism db upgrade                # migrate (a device file is copied aside first)

Subcommands live in their own modules and are imported on first use (:mod:`prism.cli.lazy`).
"""

from __future__ import annotations

import click

from prism.cli.lazy import LazyGroup
from prism.config import load_settings
from prism.errors import PrismError

__all__ = ["main"]

#: Command name -> where it lives.
COMMANDS = {
    "backup": "prism.cli.backup:backup",
    "db": "prism.cli.db:db",
    "demo": "prism.cli.demo:demo",
    "devices": "prism.cli.devices:devices",
    "export": "prism.cli.export:export",
    "hive": "prism.cli.hive:hive",
    "holdings": "prism.cli.holdings:holdings",
    "import": "prism.cli.imports:import_group",
    "market": "prism.cli.market:market",
    "openapi": "prism.cli.openapi:openapi",
    "report": "prism.cli.report:report",
    "serve": "prism.cli.serve:serve",
    "sidecar": "prism.cli.sidecar:sidecar",
    "sync": "prism.cli.sync:sync",
    "telemetry": "prism.cli.telemetry:telemetry",
    "token": "prism.cli.token_group:token",
}


@click.group(cls=LazyGroup, lazy_subcommands=COMMANDS)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder of the device database (PRISM_DATA_DIR).")
@click.option("--database-url", help="SQLAlchemy URL of the store (PRISM_DATABASE_URL).")
@click.version_option(package_name="portfolio-prism")
@click.pass_context
def main(context: click.Context, data_dir: str | None, database_url: str | None) -> None:
    """Portfolio Prism: your portfolio, on your device."""
    try:
        context.obj = load_settings(data_dir=data_dir, database_url=database_url)
    except PrismError as error:
        raise click.ClickException(str(error)) from error


if __name__ == "__main__":
    main()
