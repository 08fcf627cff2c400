"""Initial schema: API keys and jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out rather than imported from fitroom.jobs.tables: a migration describes the
# schema as it was at this revision, whatever the models say later.
_timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("created_at", _timestamp, nullable=False),
        sa.Column("revoked_at", _timestamp, nullable=True),
        sa.Column("credits", sa.Integer, nullable=True),
        sa.Column("submit_rate", sa.Integer, nullable=True),
        sa.Column("submit_period", sa.Double, nullable=True),
        sa.Column("poll_rate", sa.Integer, nullable=True),
        sa.Column("poll_period", sa.Double, nullable=True),
        sa.Column("concurrency_limit", sa.Integer, nullable=True),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column("dialect", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(200), nullable=True),
        sa.Column("lease_expires_at", _timestamp, nullable=True),
        sa.Column("created_at", _timestamp, nullable=False),
        sa.Column("started_at", _timestamp, nullable=True),
        sa.Column("finished_at", _timestamp, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("error_message", sa.Text, nullable=True),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("metadata", sa.JSON, nullable=False),
        sa.Column("cost", sa.Integer, nullable=False),
        sa.Column("refunded", sa.Boolean, nullable=False),
        sa.Column("webhook_state", sa.String(16), nullable=True),
        sa.Column("webhook_attempts", sa.Integer, nullable=False),
    )
    op.create_index("ix_jobs_state_created_at", "jobs", ["state", "created_at"])
    op.create_index("ix_jobs_key_id_state", "jobs", ["key_id", "state"])
    op.create_index("ix_jobs_finished_at", "jobs", ["finished_at"])
    op.create_index("ix_jobs_webhook_state", "jobs", ["webhook_state"])


def downgrade() -> None:
    op.drop_table("jobs")
    op.drop_table("api_keys")
