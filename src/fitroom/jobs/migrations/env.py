"""Alembic environment for Fitroom's store.

``fitroom.jobs.db.migrate`` passes an open connection in ``config.attributes`` so that
the migration runs inside its transaction (and, on PostgreSQL, under its advisory lock).
Run by the ``alembic`` command instead, it connects to ``sqlalchemy.url`` itself.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from fitroom.jobs.db import make_engine
from fitroom.jobs.tables import Base

config = context.config


def run_migrations(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Fitroom's migrations run online only")

shared = config.attributes.get("connection")
if shared is not None:
    run_migrations(shared)
else:
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        run_migrations(connection)
    engine.dispose()
