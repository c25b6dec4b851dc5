"""Transaction file formats: one registry, one small module per format.

Every module of this package is imported here; a format module registers itself with
:func:`register` when imported. A new broker is one new module beside the others.
"""

from __future__ import annotations

import importlib
import pkgutil

from prism.imports.formats.base import (
    FormatOptions,
    ImportFormat,
    ImportRow,
    Parsed,
    RowNote,
    RowProblem,
    Source,
    format_names,
    get_format,
    register,
)

__all__ = [
    "FormatOptions",
    "ImportFormat",
    "ImportRow",
    "Parsed",
    "RowNote",
    "RowProblem",
    "Source",
    "format_names",
    "get_format",
    "register",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
