"""Leases: exclusive claims, renewal, expiry, retries and the worker_lost failure."""

from __future__ import annotations

import threading

from fitroom.jobs.keys import KeyStore
from fitroom.jobs.model import JobState
from fitroom.jobs.store import JobStore
from tests.helpers import FakeClock, Submit


def test_lease_claims_the_oldest_queued_job(key_store: KeyStore, job_store: JobStore, submit: Submit) -> None:
    key, _ = key_store.create("k")
    first, second = submit(key), submit(key)

    leased = job_store.lease("worker-1", 30)

    assert leased.id == first.id
    assert leased.state is JobState.RUNNING
    assert leased.lease_owner == "worker-1"
    assert leased.attempts == 1
    assert leased.started_at is not None
    assert leased.lease_expires_at > leased.started_at
    assert job_store.lease("worker-2", 30).id == second.id
    assert job_store.lease("worker-3", 30) is None


def test_concurrent_workers_never_get_the_same_job(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("k")
    submitted = {submit(key).id for _ in range(30)}
    start = threading.Barrier(6)
    claimed: list[list[str]] = [[] for _ in range(6)]

    def work(n: int) -> None:
        start.wait()
        while (job := job_store.lease(f"worker-{n}", 30)) is not None:
            claimed[n].append(job.id)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every_claim = [job_id for claims in claimed for job_id in claims]
    assert len(every_claim) == len(set(every_claim)) == 30
    assert set(every_claim) == submitted
    assert job_store.counts()[JobState.RUNNING] == 30


def test_renew_extends_the_lease_of_its_holder_only(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("k")
    job = submit(key)
    leased = job_store.lease("w1", 10)
    clock.advance(8)

    assert job_store.renew(job.id, "w1", 10)
    assert not job_store.renew(job.id, "w2", 10)
    renewed = job_store.get(job.id)
    assert renewed.lease_expires_at > leased.lease_expires_at
    clock.advance(5)  # past the first expiry, within the renewed one
    assert job_store.reap_expired() == (0, 0)


def test_expired_lease_is_requeued_and_its_worker_refused(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("k", credits=1)
    job = submit(key)
    job_store.lease("dead", 10)
    clock.advance(11)

    assert job_store.reap_expired() == (1, 0)

    requeued = job_store.get(job.id)
    assert requeued.state is JobState.QUEUED
    assert requeued.lease_owner is None
    assert not job_store.renew(job.id, "dead", 10)
    assert not job_store.succeed(job.id, "dead", [{"key": "x"}], {})
    assert not job_store.fail(job.id, "dead", code="engine_error", message="late")
    # The next worker takes it over; the dead one still cannot touch it.
    assert job_store.lease("alive", 10).attempts == 2
    assert not job_store.succeed(job.id, "dead", [{"key": "x"}], {})
    assert job_store.succeed(job.id, "alive", [{"key": "y"}], {})
    assert job_store.get(job.id).outputs == [{"key": "y"}]
    assert key_store.get(key.id).credits == 0


def test_job_whose_worker_keeps_dying_fails_as_worker_lost_and_is_refunded(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("k", credits=2)
    job = submit(key, cost=2, max_attempts=3)
    outcomes = []
    for attempt in range(3):
        assert job_store.lease(f"w{attempt}", 10).attempts == attempt + 1
        clock.advance(11)
        outcomes.append(job_store.reap_expired())

    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    lost = job_store.get(job.id)
    assert lost.state is JobState.FAILED
    assert lost.error_code == "worker_lost"
    assert "3 times" in lost.error_message
    assert lost.refunded
    assert key_store.get(key.id).credits == 2
    assert job_store.reap_expired() == (0, 0)
    assert key_store.get(key.id).credits == 2


def test_retry_later_requeues_until_attempts_run_out(
    key_store: KeyStore, job_store: JobStore, submit: Submit
) -> None:
    key, _ = key_store.create("k", credits=1)
    job = submit(key, max_attempts=2)

    job_store.lease("w", 10)
    assert job_store.retry_later(job.id, "w", code="fetch_failed", message="Timed out.") is JobState.QUEUED
    assert job_store.get(job.id).state is JobState.QUEUED
    assert key_store.get(key.id).credits == 0

    job_store.lease("w", 10)
    assert job_store.retry_later(job.id, "w", code="fetch_failed", message="Timed out.") is JobState.FAILED
    failed = job_store.get(job.id)
    assert (failed.state, failed.error_code, failed.attempts) == (JobState.FAILED, "fetch_failed", 2)
    assert key_store.get(key.id).credits == 1
    assert job_store.retry_later(job.id, "w", code="fetch_failed", message="Timed out.") is None


def test_retry_later_is_refused_after_the_lease_was_lost(
    key_store: KeyStore, job_store: JobStore, submit: Submit, clock: FakeClock
) -> None:
    key, _ = key_store.create("k")
    job = submit(key)
    job_store.lease("slow", 10)
    clock.advance(11)
    job_store.reap_expired()
    job_store.lease("fast", 10)

    assert job_store.retry_later(job.id, "slow", code="x", message="y") is None
    assert job_store.get(job.id).lease_owner == "fast"
