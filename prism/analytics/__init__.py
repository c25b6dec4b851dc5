"""Analytics services: what joins the ledger (``storage``) with the lake (``storage.lake``).

Market data import and its validation, daily value history and its incremental
snapshots, performance (returns and risk), look-through exposure and overlap, and
price alerts. Services take the store and the lake explicitly, run DuckDB work on
worker threads, hold the lake writer's lease around every write, and raise
:mod:`prism.errors`; ``api`` and ``cli`` call them. Modules are imported directly.
"""
