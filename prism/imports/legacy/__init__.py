"""Migration from the existing desktop app's files (``prism import legacy DIR``).

One module per format (:mod:`.universe`, :mod:`.holdings`, :mod:`.enrichment`,
:mod:`.etf`), the folder walker (:mod:`.folder`), the writes (:mod:`.apply`), the
report (:mod:`.report`) and the run that ties them together (:mod:`.run`).
"""

from __future__ import annotations

from prism.imports.legacy.report import FileReport, LegacyReport
from prism.imports.legacy.run import import_legacy

__all__ = ["FileReport", "LegacyReport", "import_legacy"]
