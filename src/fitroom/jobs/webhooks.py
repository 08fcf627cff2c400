"""Webhook delivery: when a job that asked for one ends, POST its status body there.

Delivery never blocks a job: the janitor calls ``deliver_pending`` between passes, each
webhook gets a few attempts with exponential backoff, and the URL passes the same SSRF
guard as image URLs (the ``post`` callable given here is the guarded one).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio

from fitroom.errors import FitroomError, UrlRefused
from fitroom.jobs.model import JobView
from fitroom.jobs.store import JobRecord, JobStore
from fitroom.jobs.terms import DialectTerms

log = logging.getLogger(__name__)

# The first delivery and, as FASHN does, up to 5 retries within about 5 minutes: the
# waits before attempts 2 to 6 add up to 5 min 10 s.
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (0, 10, 30, 60, 90, 120)

Post = Callable[[str, dict[str, Any]], Awaitable[int]]


class WebhookSender:
    def __init__(
        self,
        *,
        jobs: JobStore,
        view: Callable[[JobRecord], JobView],
        dialects: Mapping[str, DialectTerms],
        post: Post,
    ) -> None:
        self.jobs = jobs
        self.view = view
        self.dialects = dialects
        self.post = post

    async def deliver_pending(self) -> None:
        # The store hands out only webhooks that are due: backoffs and attempts in flight
        # are kept in the database, so every server's sender honours them.
        records = await anyio.to_thread.run_sync(self.jobs.pending_webhooks, 20)
        for record in records:
            if not await anyio.to_thread.run_sync(
                self.jobs.claim_webhook, record.id, record.webhook_attempts
            ):
                continue  # another server's sender took this attempt
            terms = self.dialects.get(record.spec.dialect)
            render = terms.webhook_body if terms is not None else None
            url = record.spec.webhook_url
            attempts = record.webhook_attempts + 1
            if render is None or not url:
                await anyio.to_thread.run_sync(self.jobs.mark_webhook, record.id, "skipped", attempts)
                continue
            body = render(await anyio.to_thread.run_sync(self.view, record))
            permanent = False
            try:
                status = await self.post(url, body)
                ok = 200 <= status < 300
                reason = f"HTTP {status}"
            except UrlRefused as exc:  # the address will not become public by retrying
                ok, permanent, reason = False, True, exc.message
            except FitroomError as exc:
                ok, reason = False, exc.message
            delay = 0.0
            if ok:
                state = "delivered"
            elif permanent or attempts >= MAX_ATTEMPTS:
                state = "failed"
                log.warning("webhook for job %s failed for good: %s", record.id, reason)
            else:
                state = "pending"
                delay = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS) - 1)]
            await anyio.to_thread.run_sync(self.jobs.mark_webhook, record.id, state, attempts, delay)
