"""Starting the sidecar: stdout kept for the protocol alone, logs to stderr, exit without waiting.

stdout's descriptor is duplicated for the protocol and descriptor 1 then points at
stderr before the loop imports anything, so a stray print anywhere (ours or a
library's) lands in the log, never in the shell's JSON stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from typing import NoReturn

from prism import __version__
from prism.config import Settings, load_settings
from prism.errors import PrismError

__all__ = ["main", "run_sidecar"]


def run_sidecar(settings: Settings) -> NoReturn:
    """Serve the shell on stdin/stdout until it closes stdin or dies, then exit the process."""
    sys.stdout.flush()
    protocol_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from prism.sidecar.server import serve  # noqa: PLC0415 - after stdout is safe

    # Threads shaping large answers hold the GIL in bursts; the event loop answering
    # health checks gets it back after 1 ms instead of the default 5 ms.
    sys.setswitchinterval(0.001)

    code = 0
    # Not asyncio.run: its teardown waits for every worker thread, and a look-through
    # still running when the shell quits would hold the exit for seconds.
    loop = asyncio.new_event_loop()
    try:
        serving = serve(settings, input_fd=sys.stdin.fileno(), output_fd=protocol_fd, version=__version__)
        loop.run_until_complete(serving)
    except Exception:
        logging.getLogger("prism.sidecar").exception("the sidecar failed")
        code = 1
    finally:
        logging.shutdown()
    # Threads still blocked on stdin or in a cancelled transaction must not hold the exit:
    # an uncommitted transaction is rolled back by the database itself.
    os._exit(code)


def main() -> NoReturn:
    """``python -m prism.sidecar``: settings from the environment (``PRISM_DATA_DIR`` ...), then serve."""
    try:
        settings = load_settings()
    except PrismError as error:
        sys.stderr.write(f"prism sidecar: {error}\n")
        sys.exit(2)
    run_sidecar(settings)
