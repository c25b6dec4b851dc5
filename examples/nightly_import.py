"""Nightly import: a broker's CSV statement into a portfolio, through Prism's API.

Run it from cron every night with the day's statement; running it again on the same
file (or a statement that overlaps yesterday's) imports nothing twice, because every
row has an id derived from the file's own id for it (docs/imports.md)::

    python examples/nightly_import.py statement.csv --portfolio Broker \\
        --url http://127.0.0.1:8731 --token-file ~/.local/share/prism/api-token

It prints one JSON line for the log and exits 1 when the file has bad rows (nothing
is imported then; each bad row is listed on stderr), 2 when the server is unreachable.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from prism.api.routes.imports import ImportIn
from prism.api.schemas import PortfolioIn, PortfolioOut
from prism.client import InvalidRequest, PrismClient, TransportError


def portfolio_named(prism: PrismClient, name: str, currency: str) -> PortfolioOut:
    """The portfolio called ``name``, created on the first night."""
    for portfolio in prism.portfolios.iter():
        if portfolio.name == name:
            return portfolio
    return prism.portfolios.create(PortfolioIn(name=name, base_currency=currency))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", type=Path, help="the statement (CSV)")
    parser.add_argument("--portfolio", required=True, help="portfolio name (created when missing)")
    parser.add_argument("--currency", default="EUR", help="currency of a new portfolio")
    parser.add_argument("--format", default="generic", help="the file's format (docs/imports.md)")
    parser.add_argument("--url", default="http://127.0.0.1:8731", help="the Prism server")
    parser.add_argument("--token-file", type=Path, required=True, help="file holding the bearer token")
    parser.add_argument("--dry-run", action="store_true", help="check the file, write nothing")
    args = parser.parse_args(argv)

    token = args.token_file.expanduser().read_text().strip()
    try:
        with PrismClient(args.url, token) as prism:
            portfolio = portfolio_named(prism, args.portfolio, args.currency)
            report = prism.imports.import_file(
                ImportIn(
                    format=args.format,
                    portfolio_id=portfolio.id,
                    content=args.file.read_text(encoding="utf-8-sig"),
                    dry_run=args.dry_run,
                )
            )
    except InvalidRequest as refused:
        for error in refused.errors:
            print(f"{args.file}: {error['field']}: {error['message']}", file=sys.stderr)
        print(json.dumps({"file": str(args.file), "status": "refused", "problems": len(refused.errors)}))
        return 1
    except TransportError as unreachable:
        print(f"the Prism server is unreachable: {unreachable}", file=sys.stderr)
        return 2
    summary = {
        "file": str(args.file),
        "status": "checked" if report.dry_run else "imported",
        "portfolio": portfolio.name,
        "rows": report.rows,
        "imported": report.imported,
        "already_imported": report.already_imported,
        "skipped": report.skipped,
        "assets_created": report.assets_created,
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
