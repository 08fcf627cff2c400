"""The canonical job: what every dialect's request becomes and every status view reads.

Dialects translate their vendor's fields into ``JobSpec`` (see the mapping table in
docs/api.md §7) and read ``JobView`` back; engines see only ``TryOnOptions``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fitroom.options import JobKind, TryOnOptions


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    TIMED_OUT = "timed_out"

    @property
    def is_final(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELED, JobState.TIMED_OUT)


class JobSpec(BaseModel):
    """A canonical try-on request: which engine kind, which options, how to deliver."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: JobKind
    dialect: str
    options: TryOnOptions = Field(default_factory=TryOnOptions)
    engine: str | None = None  # None until submit: the routes decide
    return_base64: bool = False
    webhook_url: str | None = None
    cost: int = 0  # credits charged at submit, refunded on failure or cancel


def new_job_id() -> str:
    """128 random bits, hex: ids double as capabilities on the keyless polling endpoints."""
    return secrets.token_hex(16)


@dataclass(frozen=True)
class OutputView:
    """One result image as a client sees it."""

    url: str  # signed, expiring URL, or a data URI when the job asked for base64
    content_type: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class JobView:
    """A job as every dialect renders it: state, place in the queue, results or failure."""

    id: str
    state: JobState
    spec: JobSpec
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    queue_position: int | None = None  # 1-based in its engine's queue, queued jobs only
    eta_seconds: float | None = None  # queued or running jobs (None while nobody serves it)
    waiting: str | None = None  # why a queued job cannot start yet (no worker serves its engine)
    outputs: list[OutputView] = field(default_factory=list)
    error_code: str | None = None  # a FitroomError.code, or "timed_out"/"canceled"/"worker_lost"
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def processing_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
