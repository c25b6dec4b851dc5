"""``python -m prism.sidecar``: the sidecar without the ``prism`` command's start-up imports.

The settings come from the environment (``PRISM_DATA_DIR`` and the other ``PRISM_*``
variables) through :func:`prism.config.load_settings`, as for ``prism sidecar``.
"""

from __future__ import annotations

import sys

from prism.config import load_settings
from prism.errors import PrismError
from prism.sidecar.entry import run_sidecar

__all__: list[str] = []

if __name__ == "__main__":
    try:
        settings = load_settings()
    except PrismError as error:
        sys.stderr.write(f"prism sidecar: {error}\n")
        sys.exit(2)
    run_sidecar(settings)
