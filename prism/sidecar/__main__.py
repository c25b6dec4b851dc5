"""``python -m prism.sidecar``: the sidecar without the ``prism`` command's start-up imports.

The settings come from the environment (``PRISM_DATA_DIR`` and the other ``PRISM_*``
variables) through :func:`prism.config.load_settings`, as for ``prism sidecar``.
"""

from __future__ import annotations

from prism.sidecar.entry import main

__all__: list[str] = []

if __name__ == "__main__":
    main()
