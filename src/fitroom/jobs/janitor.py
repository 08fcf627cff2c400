"""Housekeeping every server process runs: reap jobs whose worker died, delete what is
past retention, deliver webhooks. Each pass is idempotent, so several servers sharing
one database can all run it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import anyio

from fitroom.jobs.lanes import LaneStore
from fitroom.jobs.service import job_prefix
from fitroom.jobs.store import JobStore
from fitroom.settings import Settings
from fitroom.storage.base import Storage

log = logging.getLogger(__name__)

RETENTION_EVERY_SECONDS = 300.0


class Janitor:
    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        lanes: LaneStore,
        storage: Storage,
        deliver_webhooks: Callable[[], Awaitable[None]] | None = None,
        on_requeue: Callable[[], None] | None = None,
        on_purged: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.lanes = lanes
        self.storage = storage
        self.deliver_webhooks = deliver_webhooks
        self.on_requeue = on_requeue
        self.on_purged = on_purged

    def reap(self) -> tuple[int, int]:
        """Expired leases: back to the queue, or failed with a reason after the last try."""
        requeued, failed = self.jobs.reap_expired()
        if requeued or failed:
            log.warning("reaped jobs whose worker stopped: %d requeued, %d failed", requeued, failed)
        return requeued, failed

    def purge(self, now: datetime | None = None) -> int:
        """Delete jobs (rows and blobs) that ended longer ago than the retention period,
        and forget the lanes of workers that died long ago."""
        cutoff = (now or datetime.now(UTC)) - timedelta(hours=self.settings.retention_hours)
        total = 0
        while ids := self.jobs.expired(cutoff):
            for job_id in ids:  # blobs first: a row without blobs is harmless, not the reverse
                self.storage.delete_prefix(job_prefix(job_id))
            total += self.jobs.delete(ids)
            if self.on_purged is not None:
                self.on_purged(ids)
        self.lanes.prune()
        return total

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_purge = loop.time()
        reap_every = max(self.settings.lease_seconds / 2, 0.5)
        while True:
            try:
                requeued, _ = await anyio.to_thread.run_sync(self.reap)
                if requeued and self.on_requeue:
                    self.on_requeue()
                if loop.time() >= next_purge:
                    await anyio.to_thread.run_sync(self.purge)
                    next_purge = loop.time() + RETENTION_EVERY_SECONDS
                if self.deliver_webhooks is not None:
                    await self.deliver_webhooks()
            except asyncio.CancelledError:
                raise
            except Exception:  # housekeeping must outlive a bad pass (e.g. the DB restarting)
                log.exception("janitor pass failed")
            await asyncio.sleep(min(reap_every, 1.0))
