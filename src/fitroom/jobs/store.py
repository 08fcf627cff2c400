"""The durable job queue: submission with credits and limits, leasing, retries, results.

Every state change is one conditional UPDATE inside one transaction, so a change that
races another (two workers claiming a job, a worker finishing a job the reaper already
took back) either wins whole or does nothing and says so.

A job's life: ``create`` (queued, cost charged) -> ``lease`` (running, attempts + 1,
leased for a while and renewed by ``renew``) -> ``succeed`` | ``fail`` | ``retry_later``
(queued again while attempts remain). A worker that dies stops renewing; ``reap_expired``
puts its job back or, out of attempts, fails it as ``worker_lost``. Every final failure,
cancel and timeout refunds the cost exactly once.
"""

from __future__ import annotations

import math
import statistics
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from fitroom.errors import ConcurrencyLimited, InsufficientCredits
from fitroom.jobs.db import read_only, rowcount
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.model import JobSpec, JobState
from fitroom.jobs.tables import ApiKeyRow, JobRow
from fitroom.options import JobKind

# Run time assumed for a kind that has no finished job yet, so that a fresh server can
# still give every queued job an estimate.
DEFAULT_RUN_SECONDS = 2.0
# Estimates follow the median of this many recent successful runs of one engine: enough
# to smooth out one slow image, few enough to follow a change of engine or machine.
_HISTORY = 50
# A running job past its typical time is "almost done", never done or overdue.
_MIN_REMAINING_SECONDS = 0.5
# How often ``lease`` tries again after another worker took the job it picked.
_CLAIM_TRIES = 5

_ACTIVE = (JobState.QUEUED.value, JobState.RUNNING.value)
_BY_ID = sa.select(JobRow.__table__).where(JobRow.__table__.c.id == sa.bindparam("id"))
_FINAL = tuple(state.value for state in JobState if state.is_final)
_WEBHOOK_PENDING = "pending"
# How long a claimed delivery attempt holds its webhook: longer than the longest POST
# (the URL fetcher gives up after 120 s), so no other sender starts the next attempt
# while this one may still be in flight.
WEBHOOK_CLAIM_SECONDS = 150.0


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobRecord:
    """One stored job, every column, read at one moment."""

    id: str
    key_id: str
    dialect: str
    kind: JobKind
    engine: str  # the engine the routes chose at submit
    spec: JobSpec
    inputs: dict[str, str]  # input name -> blob key
    state: JobState
    attempts: int
    max_attempts: int
    lease_owner: str | None  # the worker running it, or the one that last ran it
    lease_expires_at: datetime | None
    created_at: datetime
    started_at: datetime | None  # start of the latest attempt
    finished_at: datetime | None
    error_code: str | None
    error_message: str | None
    outputs: list[dict[str, Any]]  # {key, content_type, width, height, size}
    metadata: dict[str, Any]
    cost: int
    refunded: bool
    webhook_state: str | None  # None: no webhook; else pending, or what delivery made of it
    webhook_attempts: int


def _record(row: Any) -> JobRecord:
    """A record from an ORM ``JobRow`` or a Core row of the jobs table (whose metadata
    column keeps its SQL name)."""
    fields = row._mapping if isinstance(row, sa.Row) else None
    meta = fields["metadata"] if fields is not None else row.meta
    if fields is not None:
        row = _Columns(fields)
    return JobRecord(
        id=row.id,
        key_id=row.key_id,
        dialect=row.dialect,
        kind=JobKind(row.kind),
        engine=row.engine,
        spec=_spec(row.id, row.spec),
        inputs=dict(row.inputs),
        state=JobState(row.state),
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        error_code=row.error_code,
        error_message=row.error_message,
        outputs=list(row.outputs),
        metadata=dict(meta),
        cost=row.cost,
        refunded=row.refunded,
        webhook_state=row.webhook_state,
        webhook_attempts=row.webhook_attempts,
    )


class _Columns:
    """Attribute access over a Core row's mapping."""

    def __init__(self, mapping: Any) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        return self._mapping[name]


# A job's spec never changes once stored, and clients poll the same jobs again and again:
# parsed specs are kept by job id rather than validated anew on every read.
_SPECS: OrderedDict[str, JobSpec] = OrderedDict()
_SPECS_MAX = 4096
_specs_lock = threading.Lock()


def _spec(job_id: str, data: dict[str, Any]) -> JobSpec:
    with _specs_lock:
        spec = _SPECS.get(job_id)
        if spec is not None:
            _SPECS.move_to_end(job_id)
            return spec
    spec = JobSpec.model_validate(data)
    with _specs_lock:
        _SPECS[job_id] = spec
        while len(_SPECS) > _SPECS_MAX:
            _SPECS.popitem(last=False)
    return spec


def _aware(moment: datetime) -> datetime:
    """``moment`` in UTC, also when an aggregate returned it naive (SQLite)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _held_by(job_id: str, worker_id: str) -> list[sa.ColumnElement[bool]]:
    """The job is running under this worker's lease (whether or not the lease has lapsed:
    until the reaper takes the job back, nobody else can have it)."""
    return [
        JobRow.id == job_id,
        JobRow.state == JobState.RUNNING.value,
        JobRow.lease_owner == worker_id,
    ]


class JobStore:
    """The jobs table, and the only code that changes it."""

    def __init__(self, engine: sa.Engine, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._engine = engine
        self._reader = read_only(engine)
        self._clock = clock

    def _session(self) -> Session:
        return Session(self._engine, expire_on_commit=False)

    def _reading(self) -> Session:
        """A session for reads alone (on SQLite: no write lock, see ``db.read_only``)."""
        return Session(self._reader, expire_on_commit=False)

    # --- submission ---------------------------------------------------------------------

    def create(
        self,
        *,
        job_id: str,
        key: ApiKey,
        spec: JobSpec,
        inputs: dict[str, str],
        max_attempts: int,
        concurrency_limit: int,
    ) -> JobRecord:
        """Queue a job for ``key``, charging ``spec.cost``; all of it or none of it.

        Raises ConcurrencyLimited when the key already has ``concurrency_limit`` jobs
        queued or running, and InsufficientCredits when its balance is below the cost.
        ``spec.engine`` must be set: the routes decide it before the job is stored.
        """
        if spec.engine is None:
            raise ValueError("a job is stored with the engine that will run it")
        with self._session() as session, session.begin():
            # Lock the key's row, so that concurrent submissions for one key count and
            # charge one after the other (PostgreSQL; on SQLite, BEGIN IMMEDIATE does it).
            session.execute(sa.select(ApiKeyRow.id).where(ApiKeyRow.id == key.id).with_for_update())
            active = session.scalar(
                sa.select(sa.func.count()).select_from(JobRow).where(JobRow.key_id == key.id, JobRow.state.in_(_ACTIVE))
            )
            if (active or 0) >= concurrency_limit:
                # A slot frees when one of the key's jobs finishes: about one run from now.
                retry_after = math.ceil(self._typical_run_seconds(session, spec.engine))
                raise ConcurrencyLimited(
                    f"This key already has {active} jobs queued or running (limit {concurrency_limit}).",
                    retry_after=retry_after,
                )
            if spec.cost:
                charged = session.execute(
                    sa.update(ApiKeyRow)
                    .where(
                        ApiKeyRow.id == key.id,
                        sa.or_(ApiKeyRow.credits.is_(None), ApiKeyRow.credits >= spec.cost),
                    )
                    .values(credits=ApiKeyRow.credits - spec.cost)  # NULL (unlimited) stays NULL
                    .execution_options(synchronize_session=False)
                )
                if rowcount(charged) != 1:
                    raise InsufficientCredits(f"This job costs {spec.cost} credits; the key has fewer.")
            row = JobRow(
                id=job_id,
                key_id=key.id,
                dialect=spec.dialect,
                kind=spec.kind.value,
                engine=spec.engine,
                spec=spec.model_dump(mode="json"),
                inputs=dict(inputs),
                state=JobState.QUEUED.value,
                attempts=0,
                max_attempts=max_attempts,
                created_at=self._clock(),
                outputs=[],
                meta={},
                cost=spec.cost,
                refunded=False,
                webhook_state=_WEBHOOK_PENDING if spec.webhook_url else None,
                webhook_attempts=0,
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, job_id: str) -> JobRecord | None:
        """One job, by its primary key. SQLAlchemy Core rather than the ORM: this is the
        read every poll makes, and the ORM's identity map and unit of work buy it nothing."""
        with self._reader.connect() as connection:
            row = connection.execute(_BY_ID, {"id": job_id}).first()
        return None if row is None else _record(row)

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued job and refund it; False when it is no longer queued."""
        with self._session() as session, session.begin():
            return self._finish(
                session,
                [JobRow.id == job_id, JobRow.state == JobState.QUEUED.value],
                state=JobState.CANCELED,
                code="canceled",
                message="The job was canceled before it started.",
            )

    # --- running ------------------------------------------------------------------------

    def lease(
        self, worker_id: str, lease_seconds: float, *, engines: Collection[str] | None = None
    ) -> JobRecord | None:
        """Claim the oldest queued job of ``engines`` (any engine when None) for
        ``worker_id``, or None when there is none."""
        if not self._any_queued(engines):
            return None
        for _ in range(_CLAIM_TRIES):
            with self._session() as session, session.begin():
                # SKIP LOCKED lets concurrent workers on PostgreSQL pick different jobs
                # instead of queueing on the first one; SQLite ignores FOR UPDATE.
                query = sa.select(JobRow.id).where(JobRow.state == JobState.QUEUED.value)
                if engines is not None:
                    query = query.where(JobRow.engine.in_(list(engines)))
                candidate = session.scalar(
                    query.order_by(JobRow.created_at, JobRow.id).limit(1).with_for_update(skip_locked=True)
                )
                if candidate is None:
                    return None
                claimed = self._claim(session, candidate, worker_id, lease_seconds)
                if claimed is not None:
                    return claimed
        return None

    def _any_queued(self, engines: Collection[str] | None) -> bool:
        """Whether a job waits for ``engines``: a read, so that the idle lanes' look at the
        queue every second takes no write lock (SQLite has one writer for everything)."""
        query = sa.select(JobRow.id).where(JobRow.state == JobState.QUEUED.value)
        if engines is not None:
            query = query.where(JobRow.engine.in_(list(engines)))
        with self._reading() as session:
            return session.scalar(query.limit(1)) is not None

    def lease_batch(
        self,
        worker_id: str,
        lease_seconds: float,
        *,
        engines: Collection[str],
        room: int,
        key: Callable[[JobSpec], Hashable],
        cost: Callable[[JobSpec], int],
    ) -> list[JobRecord]:
        """Claim the oldest queued job of ``engines`` and, after it, queued jobs of the
        same engine whose ``key`` equals its own, while their ``cost`` fits in ``room``.

        Jobs skipped for another key keep their place for the next lease. Empty when the
        queue has nothing for ``engines``."""
        first = self.lease(worker_id, lease_seconds, engines=engines)
        if first is None:
            return []
        batch = [first]
        left = room - cost(first.spec)
        wanted = key(first.spec)
        while left > 0:
            with self._session() as session, session.begin():
                rows = session.execute(
                    sa.select(JobRow.id, JobRow.spec)
                    .where(JobRow.state == JobState.QUEUED.value, JobRow.engine == first.engine)
                    .order_by(JobRow.created_at, JobRow.id)
                    .limit(4 * room)
                    .with_for_update(skip_locked=True)
                ).all()
                fits = [
                    job_id
                    for job_id, spec in rows
                    if key(JobSpec.model_validate(spec)) == wanted and cost(JobSpec.model_validate(spec)) <= left
                ]
                if not fits:
                    break
                claimed = self._claim(session, fits[0], worker_id, lease_seconds)
            if claimed is not None:
                batch.append(claimed)
                left -= cost(claimed.spec)
        return batch

    def _claim(self, session: Session, job_id: str, worker_id: str, lease_seconds: float) -> JobRecord | None:
        """Move one queued job to running under ``worker_id``; None if it is no longer queued.

        The state condition makes the claim exclusive whatever the isolation: of two
        workers that picked the same job, one updates it, one finds no row."""
        now = self._clock()
        claimed = session.scalars(
            sa.update(JobRow)
            .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
            .values(
                state=JobState.RUNNING.value,
                lease_owner=worker_id,
                lease_expires_at=now + timedelta(seconds=lease_seconds),
                started_at=now,
                attempts=JobRow.attempts + 1,
            )
            .returning(JobRow)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).first()
        return None if claimed is None else _record(claimed)

    def renew(self, job_id: str, worker_id: str, lease_seconds: float) -> bool:
        """Extend the lease; False when the worker no longer holds the job and must stop."""
        with self._session() as session, session.begin():
            result = session.execute(
                sa.update(JobRow)
                .where(*_held_by(job_id, worker_id))
                .values(lease_expires_at=self._clock() + timedelta(seconds=lease_seconds))
                .execution_options(synchronize_session=False)
            )
            return rowcount(result) == 1

    def succeed(self, job_id: str, worker_id: str, outputs: list[dict[str, Any]], metadata: dict[str, Any]) -> bool:
        """Store the results; False (and nothing stored) when the worker lost the lease."""
        with self._session() as session, session.begin():
            result = session.execute(
                sa.update(JobRow)
                .where(*_held_by(job_id, worker_id))
                .values(
                    state=JobState.SUCCEEDED.value,
                    finished_at=self._clock(),
                    lease_expires_at=None,
                    outputs=outputs,
                    meta=metadata,
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result) == 1

    def fail(
        self,
        job_id: str,
        worker_id: str | None,
        *,
        code: str,
        message: str,
        state: JobState = JobState.FAILED,
    ) -> bool:
        """End the job as failed (or timed out, or canceled) and refund it.

        With a ``worker_id``, only while that worker holds the running job; without, any
        queued or running job (a supervisor's timeout, an operator's cancel). False when
        the job was already final or the lease was lost.
        """
        if not state.is_final or state is JobState.SUCCEEDED:
            raise ValueError(f"fail() ends a job as failed, timed out or canceled, not {state}")
        if worker_id is None:
            where = [JobRow.id == job_id, JobRow.state.in_(_ACTIVE)]
        else:
            where = _held_by(job_id, worker_id)
        with self._session() as session, session.begin():
            return self._finish(session, where, state=state, code=code, message=message)

    def retry_later(self, job_id: str, worker_id: str, *, code: str, message: str) -> JobState | None:
        """After a transient failure: queue the job again while attempts remain, else fail it.

        Returns the job's new state, or None when the worker had lost the lease.
        """
        with self._session() as session, session.begin():
            requeued = session.execute(
                sa.update(JobRow)
                .where(*_held_by(job_id, worker_id), JobRow.attempts < JobRow.max_attempts)
                .values(state=JobState.QUEUED.value, lease_owner=None, lease_expires_at=None)
                .execution_options(synchronize_session=False)
            )
            if rowcount(requeued) == 1:
                return JobState.QUEUED
            if self._finish(session, _held_by(job_id, worker_id), state=JobState.FAILED, code=code, message=message):
                return JobState.FAILED
            return None

    def reap_expired(self, now: datetime | None = None) -> tuple[int, int]:
        """Take back running jobs whose worker stopped renewing: requeue or fail them.

        Returns (requeued, failed).
        """
        now = now or self._clock()
        requeued = failed = 0
        lapsed = sa.select(JobRow.id).where(JobRow.state == JobState.RUNNING.value, JobRow.lease_expires_at < now)
        with self._reading() as session:  # the common case, nothing to reap, takes no write lock
            if session.scalar(lapsed.limit(1)) is None:
                return 0, 0
        with self._session() as session, session.begin():
            expired = session.execute(
                sa.select(JobRow.id, JobRow.attempts, JobRow.max_attempts)
                .where(JobRow.state == JobState.RUNNING.value, JobRow.lease_expires_at < now)
                .with_for_update(skip_locked=True)
            ).all()
            for job_id, attempts, max_attempts in expired:
                # Repeat the expiry condition: the worker may have renewed since the select.
                still_expired = [
                    JobRow.id == job_id,
                    JobRow.state == JobState.RUNNING.value,
                    JobRow.lease_expires_at < now,
                ]
                if attempts < max_attempts:
                    result = session.execute(
                        sa.update(JobRow)
                        .where(*still_expired)
                        .values(state=JobState.QUEUED.value, lease_owner=None, lease_expires_at=None)
                        .execution_options(synchronize_session=False)
                    )
                    requeued += rowcount(result)
                elif self._finish(
                    session,
                    still_expired,
                    state=JobState.FAILED,
                    code="worker_lost",
                    message=(f"The job was attempted {attempts} times and its worker stopped each time."),
                ):
                    failed += 1
        return requeued, failed

    def _finish(
        self,
        session: Session,
        where: list[sa.ColumnElement[bool]],
        *,
        state: JobState,
        code: str,
        message: str,
    ) -> bool:
        """Move the job matching ``where`` to a final failed ``state`` and refund its cost.

        The refund rides on the conditional UPDATE that leaves the non-final state, which
        can succeed only once per job; ``refunded`` records it.
        """
        finished = session.execute(
            sa.update(JobRow)
            .where(*where, JobRow.state.in_(_ACTIVE))
            .values(
                state=state.value,
                finished_at=self._clock(),
                lease_expires_at=None,
                error_code=code,
                error_message=message,
            )
            .returning(JobRow.id, JobRow.key_id, JobRow.cost, JobRow.refunded)
            .execution_options(synchronize_session=False)
        ).first()
        if finished is None:
            return False
        job_id, key_id, cost, refunded = finished
        if cost and not refunded:
            session.execute(
                sa.update(ApiKeyRow)
                .where(ApiKeyRow.id == key_id, ApiKeyRow.credits.is_not(None))
                .values(credits=ApiKeyRow.credits + cost)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id)
                .values(refunded=True)
                .execution_options(synchronize_session=False)
            )
        return True

    # --- queue views --------------------------------------------------------------------

    def queue_position(self, job: JobRecord) -> int:
        """1-based place of a queued job in its engine's queue: oldest first, ties by id."""
        if job.state is not JobState.QUEUED:
            raise ValueError(f"job {job.id} is {job.state}, not queued")
        with self._reading() as session:
            ahead = session.scalar(
                sa.select(sa.func.count())
                .select_from(JobRow)
                .where(
                    JobRow.state == JobState.QUEUED.value,
                    JobRow.engine == job.engine,
                    sa.or_(
                        JobRow.created_at < job.created_at,
                        sa.and_(JobRow.created_at == job.created_at, JobRow.id < job.id),
                    ),
                )
            )
            return (ahead or 0) + 1

    def estimate_seconds(self, job: JobRecord, workers: int) -> float | None:
        """Seconds until the job is likely done; None once it is final.

        Based on the median of recent successful runs on the job's engine, or on
        DEFAULT_RUN_SECONDS before there are any. A queued job waits for the jobs ahead
        of it, shared among ``workers`` (the processes serving its engine), then runs.
        """
        if job.state.is_final:
            return None
        with self._reading() as session:
            typical = self._typical_run_seconds(session, job.engine)
        if job.state is JobState.QUEUED:
            ahead = self.queue_position(job) - 1
            return ahead / max(workers, 1) * typical + typical
        elapsed = (self._clock() - job.started_at).total_seconds() if job.started_at else 0.0
        return max(typical - elapsed, _MIN_REMAINING_SECONDS)

    def _typical_run_seconds(self, session: Session, engine: str) -> float:
        runs = session.execute(
            sa.select(JobRow.started_at, JobRow.finished_at)
            .where(JobRow.state == JobState.SUCCEEDED.value, JobRow.engine == engine)
            .order_by(JobRow.finished_at.desc())
            .limit(_HISTORY)
        ).all()
        durations = [(end - start).total_seconds() for start, end in runs if start and end]
        return statistics.median(durations) if durations else DEFAULT_RUN_SECONDS

    def counts(self) -> dict[JobState, int]:
        """How many jobs are in each state (every state present, zeros included)."""
        with self._reading() as session:
            rows = session.execute(sa.select(JobRow.state, sa.func.count()).group_by(JobRow.state)).all()
        found = {JobState(state): count for state, count in rows}
        return {state: found.get(state, 0) for state in JobState}

    # --- retention ----------------------------------------------------------------------

    def expired(self, before: datetime, limit: int = 500) -> list[str]:
        """Ids of final jobs that finished before ``before``, oldest first."""
        with self._reading() as session:
            return list(
                session.scalars(
                    sa.select(JobRow.id)
                    .where(JobRow.state.in_(_FINAL), JobRow.finished_at < before)
                    .order_by(JobRow.finished_at)
                    .limit(limit)
                )
            )

    def delete(self, job_ids: Iterable[str]) -> int:
        """Delete these jobs; returns how many existed."""
        ids = list(job_ids)
        if not ids:
            return 0
        with self._session() as session, session.begin():
            result = session.execute(
                sa.delete(JobRow).where(JobRow.id.in_(ids)).execution_options(synchronize_session=False)
            )
            return rowcount(result)

    # --- webhooks -----------------------------------------------------------------------

    def _webhook_due(self) -> sa.ColumnElement[bool]:
        return sa.or_(JobRow.webhook_due_at.is_(None), JobRow.webhook_due_at <= self._clock())

    def pending_webhooks(self, limit: int = 100) -> list[JobRecord]:
        """Final jobs whose webhook is due for an attempt (not delivered or given up on,
        not waiting out a backoff, no attempt in flight), oldest first."""
        with self._reading() as session:
            rows = session.scalars(
                sa.select(JobRow)
                .where(JobRow.state.in_(_FINAL), JobRow.webhook_state == _WEBHOOK_PENDING, self._webhook_due())
                .order_by(JobRow.finished_at, JobRow.id)
                .limit(limit)
            )
            return [_record(row) for row in rows]

    def claim_webhook(self, job_id: str, attempts_seen: int) -> bool:
        """Take the next delivery attempt of a pending webhook, counting it now.

        Several servers share one database and each runs a webhook sender. The attempt
        counter doubles as the claim (only one of them moves it from ``attempts_seen``),
        and the claim holds the webhook for ``WEBHOOK_CLAIM_SECONDS``: a sender that
        reads it while the attempt is in flight sees it not yet due, rather than counting
        the next attempt and sending it a second time at once. A sender that dies
        mid-attempt leaves the webhook pending with the attempt counted, due again when
        the hold ends: delivery is at least once, within the attempt budget."""
        with self._session() as session, session.begin():
            result = session.execute(
                sa.update(JobRow)
                .where(
                    JobRow.id == job_id,
                    JobRow.webhook_state == _WEBHOOK_PENDING,
                    JobRow.webhook_attempts == attempts_seen,
                    self._webhook_due(),
                )
                .values(
                    webhook_attempts=attempts_seen + 1,
                    webhook_due_at=self._clock() + timedelta(seconds=WEBHOOK_CLAIM_SECONDS),
                )
                .execution_options(synchronize_session=False)
            )
            return rowcount(result) == 1

    def mark_webhook(self, job_id: str, state: str, attempts: int, retry_in: float = 0.0) -> bool:
        """Record a delivery attempt: ``state`` stays "pending" to try again after
        ``retry_in`` seconds, or is final ("delivered", "failed"). False for an unknown
        job."""
        due = self._clock() + timedelta(seconds=retry_in) if state == _WEBHOOK_PENDING else None
        with self._session() as session, session.begin():
            result = session.execute(
                sa.update(JobRow)
                .where(JobRow.id == job_id)
                .values(webhook_state=state, webhook_attempts=attempts, webhook_due_at=due)
                .execution_options(synchronize_session=False)
            )
            return rowcount(result) == 1

    # --- operator views -----------------------------------------------------------------

    def recent(self, limit: int = 50) -> list[JobRecord]:
        """The newest ``limit`` jobs, newest first (the operator view's job list)."""
        with self._reading() as session:
            rows = session.scalars(sa.select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(limit))
            return [_record(row) for row in rows]

    def usage_by_key(self) -> dict[str, tuple[int, int]]:
        """Key id -> (jobs, credits spent) over the jobs still retained. A job's cost counts
        as spent unless it was refunded; keys without jobs are absent."""
        spent = sa.func.sum(sa.case((JobRow.refunded.is_(False), JobRow.cost), else_=0))
        with self._reading() as session:
            rows = session.execute(sa.select(JobRow.key_id, sa.func.count(), spent).group_by(JobRow.key_id)).all()
        return {key_id: (count, int(total or 0)) for key_id, count, total in rows}

    def active_by_engine(self) -> dict[str, dict[JobState, int]]:
        """Engine -> how many of its jobs are queued and running (both states present);
        engines with neither are absent."""
        with self._reading() as session:
            rows = session.execute(
                sa.select(JobRow.engine, JobRow.state, sa.func.count())
                .where(JobRow.state.in_(_ACTIVE))
                .group_by(JobRow.engine, JobRow.state)
            ).all()
        depths: dict[str, dict[JobState, int]] = {}
        for engine, state, count in rows:
            depths.setdefault(engine, {JobState.QUEUED: 0, JobState.RUNNING: 0})[JobState(state)] = count
        return depths

    # --- metrics ------------------------------------------------------------------------

    def figures(self) -> tuple[dict[tuple[str, str, str], int], dict[str, tuple[int, float]], int, int]:
        """What ``/metrics`` reports of the jobs: counts by (engine, state, error code),
        queue depth and age of the oldest queued job per engine, credits charged and
        refunded; three grouped reads."""
        now = self._clock()
        with self._reading() as session:
            counts = session.execute(
                sa.select(JobRow.engine, JobRow.state, JobRow.error_code, sa.func.count()).group_by(
                    JobRow.engine, JobRow.state, JobRow.error_code
                )
            ).all()
            queued = session.execute(
                sa.select(JobRow.engine, sa.func.count(), sa.func.min(JobRow.created_at))
                .where(JobRow.state == JobState.QUEUED.value)
                .group_by(JobRow.engine)
            ).all()
            charged, refunded = session.execute(
                sa.select(
                    sa.func.coalesce(sa.func.sum(JobRow.cost), 0),
                    sa.func.coalesce(sa.func.sum(sa.case((JobRow.refunded.is_(True), JobRow.cost), else_=0)), 0),
                )
            ).one()
        jobs = {(engine, state, code or ""): count for engine, state, code, count in counts}
        ages = {engine: (count, max(0.0, (now - _aware(oldest)).total_seconds())) for engine, count, oldest in queued}
        return jobs, ages, int(charged), int(refunded)
