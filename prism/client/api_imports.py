"""``/api/v1/imports`` and ``/api/v1/export``: files of transactions in, the whole account out."""

from __future__ import annotations

from prism.api.routes.imports import ImportIn, ImportReportOut
from prism.client._operations import Area, Call, M, operation

__all__ = ["Imports"]


class Imports(Area[M]):
    """Imports are all or nothing and idempotent: a row imported before counts as ``already_imported``."""

    # Rows get ids derived from (source, external id), so a resent file writes nothing twice.
    @operation("POST", "/api/v1/imports", idempotent=True)
    def import_file(self, body: ImportIn) -> Call[ImportReportOut]:
        """Import a file of transactions into a portfolio (a dry run writes nothing)."""
        return Call(ImportReportOut, body=body)

    @operation("GET", "/api/v1/export")
    def export(self) -> Call[bytes]:
        """The account's whole data as one JSON document (docs/export-format.md), as bytes."""
        return Call(bytes)
