"""Webhooks: when the next delivery attempt is due, kept with the job.

Each server's sender kept its backoff in memory, and the attempt counter was the only
claim: a second server reading a webhook while the first one's POST was in flight
counted the next attempt and sent it again at once. The due time (a backoff, or a hold
while an attempt is in flight) now lives in the database, where every sender sees it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("webhook_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("webhook_due_at")
