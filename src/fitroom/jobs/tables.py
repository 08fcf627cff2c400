"""The store's tables, as typed declarative mappings.

The schema itself is created by the Alembic migrations in ``migrations/``; these classes
must describe the same tables (``tests/jobs/test_migrations.py`` checks that they do).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp that goes in and comes out timezone-aware UTC on every backend.

    SQLite has no timezone type and hands back naive values; PostgreSQL hands them back
    in the session's zone. Storing naive UTC on SQLite also keeps its text comparisons
    (``lease_expires_at < now``) correct.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: the store only takes timezone-aware values")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    hash: Mapped[str] = mapped_column(sa.String(64))  # hex SHA-256 of the secret part
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    credits: Mapped[int | None]  # None: unlimited
    # Per-key limits; None: the server's default from Settings.
    submit_rate: Mapped[int | None]
    submit_period: Mapped[float | None]
    poll_rate: Mapped[int | None]
    poll_period: Mapped[float | None]
    concurrency_limit: Mapped[int | None]


class JobRow(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_state_created_at", "state", "created_at"),  # queue positions
        sa.Index("ix_jobs_state_engine_created_at", "state", "engine", "created_at"),  # a lane's queue
        sa.Index("ix_jobs_key_id_state", "key_id", "state"),  # concurrency per key
        sa.Index("ix_jobs_finished_at", "finished_at"),  # retention
        sa.Index("ix_jobs_webhook_state", "webhook_state"),  # webhook delivery
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    key_id: Mapped[str] = mapped_column(sa.ForeignKey("api_keys.id"))
    dialect: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(32))
    engine: Mapped[str] = mapped_column(sa.String(64))  # decided at submit by the routes
    spec: Mapped[dict[str, Any]]  # JobSpec.model_dump(mode="json")
    inputs: Mapped[dict[str, Any]]  # input name -> blob key
    state: Mapped[str] = mapped_column(sa.String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int]
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(sa.String(64))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    outputs: Mapped[list[Any]]  # [{key, content_type, width, height, size}]
    # "metadata" is taken by DeclarativeBase, hence the attribute name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata")
    cost: Mapped[int] = mapped_column(default=0)
    refunded: Mapped[bool] = mapped_column(default=False)
    # FASHN webhooks: None when the job has no webhook_url, else pending/delivered/failed.
    webhook_state: Mapped[str | None] = mapped_column(sa.String(16))
    webhook_attempts: Mapped[int] = mapped_column(default=0)
    # When the next delivery attempt may start: after an attempt's backoff, or once an
    # attempt in flight (claimed by some server's sender) can no longer be running.
    webhook_due_at: Mapped[datetime | None]


class LaneRow(Base):
    """A lane a running worker serves: one engine, its processes' devices, a heartbeat."""

    __tablename__ = "lanes"
    __table_args__ = (sa.Index("ix_lanes_engine_heartbeat_at", "engine", "heartbeat_at"),)

    id: Mapped[str] = mapped_column(sa.String(300), primary_key=True)  # worker id + engine
    worker_id: Mapped[str] = mapped_column(sa.String(200))
    engine: Mapped[str] = mapped_column(sa.String(64))
    devices: Mapped[list[Any]]  # one entry per engine process: "cpu", "cuda:0", ...
    host: Mapped[str] = mapped_column(sa.String(200))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
