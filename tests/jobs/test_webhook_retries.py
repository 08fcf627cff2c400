"""Webhook delivery retries as FASHN's do: up to 5 retries within about 5 minutes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import anyio

from fitroom.jobs.keys import KeyStore
from fitroom.jobs.model import JobView
from fitroom.jobs.store import WEBHOOK_CLAIM_SECONDS, JobRecord, JobStore
from fitroom.jobs.webhooks import WebhookSender
from tests.helpers import FakeClock, Submit


@dataclass(frozen=True)
class Terms:
    name: str = "fashn"
    price_per_image: int = 1

    @staticmethod
    def status_body(view: JobView) -> dict[str, Any]:
        return {"id": view.id}

    @property
    def webhook_body(self) -> Any:
        return self.status_body


def view(record: JobRecord) -> JobView:
    return JobView(id=record.id, state=record.state, spec=record.spec, created_at=record.created_at)


def ended_with_webhook(job_store: JobStore, key_store: KeyStore, submit: Submit) -> JobRecord:
    """A job that asked for a webhook and has ended, so its webhook is due."""
    key, _ = key_store.create("hooks")
    job = submit(key, webhook_url="https://example.com/hook")
    job_store.fail(job.id, None, code="canceled", message="stop")
    return job


def test_a_failing_webhook_is_tried_6_times_over_about_5_minutes(
    job_store: JobStore, key_store: KeyStore, submit: Submit, clock: FakeClock
) -> None:
    job = ended_with_webhook(job_store, key_store, submit)
    sent: list[datetime] = []

    async def post(url: str, body: dict[str, Any]) -> int:
        sent.append(clock.now)
        return 503

    sender = WebhookSender(jobs=job_store, view=view, dialects={"fashn": Terms()}, post=post)
    for _ in range(400):  # one delivery pass a second for 400 s
        anyio.run(sender.deliver_pending)
        clock.advance(1)

    assert len(sent) == 6  # the first delivery and 5 retries
    span = (sent[-1] - sent[0]).total_seconds()
    assert 280 <= span <= 330, span
    record = job_store.get(job.id)
    assert (record.webhook_state, record.webhook_attempts) == ("failed", 6)


def test_a_webhook_that_succeeds_on_a_retry_is_delivered_once(
    job_store: JobStore, key_store: KeyStore, submit: Submit, clock: FakeClock
) -> None:
    job = ended_with_webhook(job_store, key_store, submit)
    answers = iter([500, 500, 200])
    sent = 0

    async def post(url: str, body: dict[str, Any]) -> int:
        nonlocal sent
        sent += 1
        return next(answers)

    sender = WebhookSender(jobs=job_store, view=view, dialects={"fashn": Terms()}, post=post)
    for _ in range(200):
        anyio.run(sender.deliver_pending)
        clock.advance(1)
    assert sent == 3
    assert job_store.get(job.id).webhook_state == "delivered"


def test_a_webhook_in_flight_on_one_server_is_not_sent_again_by_another(
    job_store: JobStore, key_store: KeyStore, submit: Submit, clock: FakeClock
) -> None:
    # Two servers share the database. The first claims the attempt and is still
    # posting when the second server's sender looks: that one must not count the next
    # attempt and send the webhook a second time (seen as a doubled delivery in the
    # cluster test under load).
    job = ended_with_webhook(job_store, key_store, submit)
    [pending] = job_store.pending_webhooks()
    assert job_store.claim_webhook(job.id, pending.webhook_attempts)  # the first server's sender

    clock.advance(1)
    assert job_store.pending_webhooks() == []  # the second server's sender sees nothing due
    assert not job_store.claim_webhook(job.id, pending.webhook_attempts + 1)

    # Had the first sender died mid-attempt, the webhook comes due again once the hold ends.
    clock.advance(WEBHOOK_CLAIM_SECONDS)
    assert [record.id for record in job_store.pending_webhooks()] == [job.id]


def test_a_retry_waits_out_its_backoff_on_every_server(
    job_store: JobStore, key_store: KeyStore, submit: Submit, clock: FakeClock
) -> None:
    ended_with_webhook(job_store, key_store, submit)
    calls = 0

    async def post(url: str, body: dict[str, Any]) -> int:
        nonlocal calls
        calls += 1
        return 503

    first = WebhookSender(jobs=job_store, view=view, dialects={"fashn": Terms()}, post=post)
    second = WebhookSender(jobs=job_store, view=view, dialects={"fashn": Terms()}, post=post)
    anyio.run(first.deliver_pending)
    assert calls == 1
    clock.advance(5)  # within the 10 s backoff: the other server waits too
    anyio.run(second.deliver_pending)
    assert calls == 1
    clock.advance(6)
    anyio.run(second.deliver_pending)
    assert calls == 2
