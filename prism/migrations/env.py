"""Alembic environment: runs on a connection handed in by :mod:`prism.migrations`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from prism.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if _connection is None:
    raise RuntimeError("run migrations through prism.migrations (or `prism db upgrade`), not the alembic CLI")
_run(_connection)
