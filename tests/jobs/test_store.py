"""Submission, credits, limits, cancel, queue views, retention and webhooks."""

from __future__ import annotations

import threading
from datetime import UTC, timedelta

import pytest

from fitroom.errors import ConcurrencyLimited, InsufficientCredits
from fitroom.jobs.keys import KeyStore
from fitroom.jobs.model import JobSpec, JobState, new_job_id
from fitroom.jobs.store import DEFAULT_RUN_SECONDS, JobStore
from fitroom.options import JobKind
from tests.helpers import FakeClock, Submit


def test_create_queues_the_job_and_charges_its_cost(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("shop", credits=5)

    job = submit(key, cost=2)

    assert job.state is JobState.QUEUED
    assert job.attempts == 0
    assert job.key_id == key.id
    assert key_store.get(key.id).credits == 3
    stored = job_store.get(job.id)
    assert stored == job
    assert stored.spec.cost == 2
    assert stored.inputs == {"model_image": f"inputs/{job.id}/model"}
    assert stored.created_at.tzinfo is not None
    assert stored.created_at.utcoffset() == timedelta(0)


def test_unlimited_key_stays_unlimited(key_store: KeyStore, submit: Submit) -> None:
    key, _ = key_store.create("unlimited")

    submit(key, cost=3)

    assert key_store.get(key.id).credits is None


def test_insufficient_credits_writes_nothing(
    key_store: KeyStore, job_store: JobStore
) -> None:
    key, _ = key_store.create("poor", credits=1)
    job_id = new_job_id()

    with pytest.raises(InsufficientCredits):
        job_store.create(
            job_id=job_id,
            key=key,
            spec=JobSpec(kind=JobKind.CLOTHING, dialect="fashn", cost=2, engine="cpu-clothing"),
            inputs={},
            max_attempts=3,
            concurrency_limit=6,
        )

    assert job_store.get(job_id) is None
    assert key_store.get(key.id).credits == 1
    assert sum(job_store.counts().values()) == 0


def test_concurrency_limit_counts_queued_and_running_jobs_per_key(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("busy", credits=10)
    other, _ = key_store.create("other", credits=10)
    first = submit(key, concurrency_limit=2)
    submit(key, concurrency_limit=2)
    job_store.lease("w", 30)  # one running, one queued: still two active

    with pytest.raises(ConcurrencyLimited) as refused:
        submit(key, concurrency_limit=2)

    assert refused.value.retry_after >= 1
    assert key_store.get(key.id).credits == 8  # the refused job was not charged
    submit(other, concurrency_limit=2)  # another key is not limited by this one's jobs
    assert job_store.fail(first.id, None, code="engine_error", message="boom")
    submit(key, concurrency_limit=2)  # a finished job frees its slot


def test_concurrency_limit_holds_under_simultaneous_submissions(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("burst", credits=100)
    start = threading.Barrier(8)
    accepted: list[str] = []
    refused: list[Exception] = []

    def submit_one() -> None:
        start.wait()
        try:
            accepted.append(submit(key, concurrency_limit=3).id)
        except ConcurrencyLimited as exc:
            refused.append(exc)

    threads = [threading.Thread(target=submit_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(accepted) == 3
    assert len(refused) == 5
    assert key_store.get(key.id).credits == 97


def test_failure_refunds_exactly_once(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("refund", credits=5)
    job = submit(key, cost=2)
    job_store.lease("w", 30)

    assert job_store.fail(job.id, "w", code="no_person_found", message="No person.")
    assert not job_store.fail(job.id, "w", code="no_person_found", message="No person.")
    assert not job_store.fail(job.id, None, code="x", message="again", state=JobState.TIMED_OUT)
    assert not job_store.cancel(job.id)

    failed = job_store.get(job.id)
    assert failed.state is JobState.FAILED
    assert (failed.error_code, failed.error_message) == ("no_person_found", "No person.")
    assert failed.refunded
    assert failed.finished_at is not None
    assert key_store.get(key.id).credits == 5


def test_timeout_by_a_supervisor_refunds(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("slow", credits=1)
    job = submit(key, cost=1)
    job_store.lease("w", 30)

    assert job_store.fail(job.id, None, code="timed_out", message="Too slow.", state=JobState.TIMED_OUT)

    assert job_store.get(job.id).state is JobState.TIMED_OUT
    assert key_store.get(key.id).credits == 1


def test_fail_cannot_mark_a_job_succeeded(job_store: JobStore) -> None:
    with pytest.raises(ValueError):
        job_store.fail("0" * 32, None, code="x", message="y", state=JobState.SUCCEEDED)


def test_cancel_refunds_queued_jobs_only(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("cancel", credits=2)
    running = submit(key)
    queued = submit(key)
    job_store.lease("w", 30)

    assert not job_store.cancel(running.id)
    assert job_store.cancel(queued.id)
    assert not job_store.cancel(queued.id)

    canceled = job_store.get(queued.id)
    assert canceled.state is JobState.CANCELED
    assert canceled.error_code == "canceled"
    assert key_store.get(key.id).credits == 1  # the running job is still paid for
    assert not job_store.cancel(new_job_id())


def test_success_keeps_the_charge_and_stores_results(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("paid", credits=1)
    job = submit(key)
    job_store.lease("w", 30)
    outputs = [{"key": "out/1.png", "content_type": "image/png", "width": 768, "height": 1024, "size": 12345}]

    assert job_store.succeed(job.id, "w", outputs, {"engine": "cpu-clothing"})

    done = job_store.get(job.id)
    assert done.state is JobState.SUCCEEDED
    assert done.outputs == outputs
    assert done.metadata == {"engine": "cpu-clothing"}
    assert done.finished_at >= done.started_at
    assert not done.refunded
    assert key_store.get(key.id).credits == 0


def test_queue_positions_follow_submission_order(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("queue")
    jobs = [submit(key) for _ in range(3)]

    assert [job_store.queue_position(job) for job in jobs] == [1, 2, 3]

    job_store.lease("w", 30)
    assert [job_store.queue_position(job_store.get(job.id)) for job in jobs[1:]] == [1, 2]
    with pytest.raises(ValueError):
        job_store.queue_position(job_store.get(jobs[0].id))


def test_estimates_without_history_use_the_default(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("new")
    first, second = submit(key), submit(key)

    assert job_store.estimate_seconds(first, workers=1) == pytest.approx(DEFAULT_RUN_SECONDS)
    assert job_store.estimate_seconds(second, workers=1) == pytest.approx(2 * DEFAULT_RUN_SECONDS)


def test_estimates_follow_recent_runs_of_the_same_engine(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("history")
    for _ in range(3):  # clothing jobs take 4 s
        job = submit(key)
        job_store.lease("w", 30)
        clock.advance(4)
        job_store.succeed(job.id, "w", [], {})
    glasses = submit(key, kind=JobKind.GLASSES)  # glasses have no history yet
    running, second, third = submit(key), submit(key), submit(key)
    job_store.lease("w", 30)  # takes the glasses job
    job_store.lease("w", 30)  # takes `running`
    clock.advance(1)

    assert job_store.estimate_seconds(job_store.get(running.id), workers=2) == pytest.approx(3, abs=0.1)
    # `third` waits for `second`, shared between two workers, then runs.
    assert job_store.estimate_seconds(third, workers=2) == pytest.approx(1 / 2 * 4 + 4, abs=0.1)
    assert job_store.estimate_seconds(second, workers=2) == pytest.approx(4, abs=0.1)
    assert job_store.estimate_seconds(job_store.get(glasses.id), workers=2) == pytest.approx(
        DEFAULT_RUN_SECONDS - 1, abs=0.1
    )
    clock.advance(60)  # overdue: almost done, never negative
    assert 0 < job_store.estimate_seconds(job_store.get(running.id), workers=2) < 1
    job_store.succeed(running.id, "w", [], {})
    assert job_store.estimate_seconds(job_store.get(running.id), workers=2) is None


def test_retention_finds_and_deletes_old_final_jobs(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("old")
    old = submit(key)
    job_store.lease("w", 30)
    job_store.succeed(old.id, "w", [], {})
    old_canceled = submit(key)
    job_store.cancel(old_canceled.id)
    old_queued = submit(key)  # queued jobs are never expired, however old
    clock.advance(3600)
    cutoff = clock()
    recent = submit(key)
    job_store.cancel(recent.id)

    expired = job_store.expired(before=cutoff)

    assert expired == [old.id, old_canceled.id]
    assert job_store.expired(before=cutoff, limit=1) == [old.id]
    assert job_store.delete(expired) == 2
    assert job_store.get(old.id) is None
    assert job_store.get(old_queued.id) is not None
    assert job_store.get(recent.id) is not None
    assert job_store.delete([]) == 0
    assert job_store.delete(expired) == 0


def test_webhooks_wait_for_final_jobs_that_asked_for_one(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("hooks")
    hooked = submit(key, webhook_url="https://example.com/hook")
    plain = submit(key)
    assert job_store.pending_webhooks(10) == []  # still queued

    job_store.lease("w", 30)
    job_store.lease("w", 30)
    job_store.succeed(hooked.id, "w", [], {})
    job_store.succeed(plain.id, "w", [], {})
    assert [job.id for job in job_store.pending_webhooks(10)] == [hooked.id]

    assert job_store.mark_webhook(hooked.id, "pending", 1)
    assert [job.webhook_attempts for job in job_store.pending_webhooks(10)] == [1]
    assert job_store.mark_webhook(hooked.id, "delivered", 2)
    assert job_store.pending_webhooks(10) == []
    assert job_store.get(hooked.id).webhook_state == "delivered"


def test_counts_cover_every_state(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("count")
    submit(key)
    submit(key)
    canceled = submit(key)
    job_store.cancel(canceled.id)
    job_store.lease("w", 30)

    counts = job_store.counts()

    assert counts == {
        JobState.QUEUED: 1,
        JobState.RUNNING: 1,
        JobState.SUCCEEDED: 0,
        JobState.FAILED: 0,
        JobState.CANCELED: 1,
        JobState.TIMED_OUT: 0,
    }


def test_timestamps_come_back_in_utc(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("tz")
    job = submit(key)
    leased = job_store.lease("w", 30)

    for stamp in (leased.created_at, leased.started_at, leased.lease_expires_at, key.created_at):
        assert stamp.tzinfo is not None and stamp.utcoffset() == timedelta(0)
    assert job_store.get(job.id).created_at == job.created_at.astimezone(UTC)


def test_a_webhook_attempt_is_claimed_by_one_sender_only(engine) -> None:
    """Servers sharing a database each run a webhook sender; one attempt, one sender."""
    import threading

    from fitroom.jobs.keys import KeyStore
    from fitroom.jobs.model import JobSpec, new_job_id
    from fitroom.jobs.store import JobStore
    from fitroom.options import JobKind

    store = JobStore(engine)
    key, _ = KeyStore(engine).create("hooks")
    job_id = new_job_id()
    spec = JobSpec(
        kind=JobKind.CLOTHING, dialect="fashn", webhook_url="http://example.test/hook", engine="cpu-clothing"
    )
    store.create(job_id=job_id, key=key, spec=spec, inputs={}, max_attempts=1, concurrency_limit=10)
    store.fail(job_id, None, code="canceled", message="stop")
    [pending] = store.pending_webhooks()
    wins: list[bool] = []
    threads = [
        threading.Thread(target=lambda: wins.append(store.claim_webhook(job_id, pending.webhook_attempts)))
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins.count(True) == 1
    assert store.get(job_id).webhook_attempts == pending.webhook_attempts + 1
    assert not store.claim_webhook(job_id, pending.webhook_attempts)  # a stale view loses
