"""``prism sidecar``: serve the desktop shell over stdin and stdout (docs/sidecar.md).

``python -m prism.sidecar`` runs the same loop without the ``prism`` command's own
start-up imports, so its readiness line comes sooner.
"""

from __future__ import annotations

import click

from prism.config import Settings

__all__ = ["sidecar"]


@click.command()
@click.pass_obj
def sidecar(settings: Settings) -> None:
    """Serve the desktop shell: newline-delimited JSON on stdin/stdout, logs on stderr."""
    from prism.sidecar.entry import run_sidecar  # noqa: PLC0415 - only this command needs the loop

    run_sidecar(settings)
