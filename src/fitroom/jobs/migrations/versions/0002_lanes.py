"""Lanes: each job records its engine; workers register the lanes they run.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_timestamp = sa.DateTime(timezone=True)

# Jobs queued before this revision ran on the default engine of their kind.
_ENGINE_OF_KIND = {"clothing": "cpu-clothing", "glasses": "cpu-glasses", "background_remove": "cpu-cutout"}


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("engine", sa.String(64), nullable=True))
    jobs = sa.table("jobs", sa.column("kind", sa.String), sa.column("engine", sa.String))
    for kind, engine in _ENGINE_OF_KIND.items():
        op.execute(jobs.update().where(jobs.c.kind == kind).values(engine=engine))
    op.execute(jobs.update().where(jobs.c.engine.is_(None)).values(engine="cpu-clothing"))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("engine", existing_type=sa.String(64), nullable=False)
    # A lane leases the oldest queued job of its engine: this index is that query.
    op.create_index("ix_jobs_state_engine_created_at", "jobs", ["state", "engine", "created_at"])

    op.create_table(
        "lanes",
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("worker_id", sa.String(200), nullable=False),
        sa.Column("engine", sa.String(64), nullable=False),
        sa.Column("devices", sa.JSON, nullable=False),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", _timestamp, nullable=False),
        sa.Column("heartbeat_at", _timestamp, nullable=False),
    )
    op.create_index("ix_lanes_engine_heartbeat_at", "lanes", ["engine", "heartbeat_at"])


def downgrade() -> None:
    op.drop_table("lanes")
    op.drop_index("ix_jobs_state_engine_created_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("engine")
