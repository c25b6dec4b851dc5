"""The transactional store: tables, engines and the ledger's repositories.

``storage`` turns domain objects into rows on SQLite or PostgreSQL and back,
maintains the positions projection in the same transaction as every ledger
write, and translates driver errors into :mod:`prism.errors`. Its ``lake``
subpackage will hold the Parquet/DuckDB analytics store.
"""
