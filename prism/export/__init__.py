"""A complete, exact export of one account, and its layout (``docs/export-format.md``).

An export is a folder: ``manifest.json`` and one file per user table, as JSON, CSV or
Parquet. :mod:`prism.imports.export_dir` restores one into an empty database.
"""
