"""The running server's parts, built once from ``Settings`` and shared.

``Runtime.start`` migrates the database and wires store, storage, image loader, rate
limiter and service; in the embedded default it also starts a worker (one lane per
engine) and the janitor. The dialects it serves are handed in by the caller (the app or
the CLI), so this module needs nothing from ``fitroom.api``. The CLI uses
``Stores.open`` (no event loop, no workers) for ``fitroom keys``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import sqlalchemy

from fitroom import __version__
from fitroom.engines import registry
from fitroom.images.loader import ImageLoader
from fitroom.jobs.db import make_engine, migrate
from fitroom.jobs.janitor import Janitor
from fitroom.jobs.keys import KeyStore
from fitroom.jobs.lanes import LaneStore
from fitroom.jobs.model import JobState
from fitroom.jobs.notify import JobNotifier, RedisRelay
from fitroom.jobs.ratelimit import MemoryRateLimiter, RedisRateLimiter
from fitroom.jobs.service import TryOnService
from fitroom.jobs.store import JobStore
from fitroom.jobs.terms import DialectTerms
from fitroom.jobs.webhooks import WebhookSender
from fitroom.jobs.worker import Worker, plan_lanes
from fitroom.metrics import StoreFigures
from fitroom.settings import Settings
from fitroom.storage import open_storage
from fitroom.storage.base import Storage
from fitroom.storage.signing import UrlSigner

log = logging.getLogger(__name__)

HEALTH_COUNTS_TTL_SECONDS = 1.0


@dataclass
class Stores:
    """What needs no event loop: database, keys, jobs, storage."""

    settings: Settings
    db: sqlalchemy.Engine
    keys: KeyStore
    jobs: JobStore
    lanes: LaneStore
    signer: UrlSigner
    storage: Storage

    @classmethod
    def open(cls, settings: Settings) -> Stores:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.resolved_database_url
        migrate(url)
        db = make_engine(url)
        signer = UrlSigner(settings.resolved_secret_key)
        return cls(
            settings=settings,
            db=db,
            keys=KeyStore(db),
            jobs=JobStore(db),
            lanes=LaneStore(db, heartbeat_seconds=settings.lane_heartbeat_seconds),
            signer=signer,
            storage=open_storage(
                settings.resolved_storage_url,
                signer,
                settings.resolved_base_url,
                presigned_urls=settings.result_urls == "presigned",
            ),
        )

    def close(self) -> None:
        self.db.dispose()


@dataclass
class Runtime:
    stores: Stores
    service: TryOnService
    loader: ImageLoader
    worker: Worker | None = None
    relay: RedisRelay | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _counts: tuple[float, dict[JobState, int]] = (float("-inf"), {})
    _counting: asyncio.Future[None] | None = None

    def _count(self) -> None:
        try:
            self._counts = (time.monotonic(), self.jobs.counts())
        finally:
            self._counting = None

    @property
    def keys(self) -> KeyStore:
        return self.stores.keys

    @property
    def jobs(self) -> JobStore:
        return self.stores.jobs

    @property
    def storage(self) -> Storage:
        return self.stores.storage

    @property
    def signer(self) -> UrlSigner:
        return self.stores.signer

    @classmethod
    async def start(cls, settings: Settings, *, dialects: Sequence[DialectTerms], run_workers: bool = True) -> Runtime:
        """Open the stores and start the janitor and, with ``run_workers`` (and
        ``FITROOM_WORKERS`` not 0), a worker with a lane for each of ``settings.engines``
        (every ready engine when unset). Raises ``EngineUnavailable`` when a named engine
        cannot run here, and ``ValueError`` for routes that name no engine able to serve."""
        # Checked first: a bad engine name or route must stop the start before anything runs.
        # Importing the engine modules takes a second or more: not on the event loop.
        await anyio.to_thread.run_sync(registry.load, settings.engine_modules)
        plans = []
        if run_workers and settings.worker_count > 0:
            plans = await anyio.to_thread.run_sync(plan_lanes, settings, settings.engines)
        stores = await anyio.to_thread.run_sync(Stores.open, settings)
        notifier = JobNotifier()
        # Building the HTTP client loads the TLS trust store: a tenth of a second.
        loader = await anyio.to_thread.run_sync(ImageLoader.from_settings, settings)
        by_name = {d.name: d for d in dialects}
        service = TryOnService(
            settings,
            keys=stores.keys,
            jobs=stores.jobs,
            storage=stores.storage,
            loader=loader,
            limiter=RedisRateLimiter(settings.redis_url) if settings.redis_url else MemoryRateLimiter(),
            notifier=notifier,
            lanes=stores.lanes,
            dialects=by_name,
        )
        runtime = cls(stores=stores, service=service, loader=loader)
        if settings.redis_url:
            runtime.relay = RedisRelay(settings.redis_url, notifier)
            runtime.tasks.append(asyncio.create_task(runtime.relay.run(), name="job-events"))
        webhooks = WebhookSender(jobs=stores.jobs, view=service.view, dialects=by_name, post=loader.fetcher.post_json)
        janitor = Janitor(
            settings,
            jobs=stores.jobs,
            lanes=stores.lanes,
            storage=stores.storage,
            deliver_webhooks=webhooks.deliver_pending,
            on_requeue=notifier.job_queued,
            on_purged=service.forget,
        )
        runtime.tasks.append(asyncio.create_task(janitor.run(), name="janitor"))
        if plans:
            runtime.worker = Worker(
                settings,
                jobs=stores.jobs,
                lanes=stores.lanes,
                storage=stores.storage,
                notifier=notifier,
                plans=plans,
            )
            runtime.tasks.append(asyncio.create_task(runtime.worker.run(), name="worker"))
        return runtime

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.loader.aclose()
        await self.service.limiter.aclose()
        if self.relay is not None:
            await self.relay.aclose()
        self.stores.close()

    def figures(self) -> StoreFigures:
        """What ``/metrics`` reads of the store (see ``fitroom.metrics``)."""
        jobs, queued, charged, refunded = self.jobs.figures()
        return StoreFigures(
            jobs=jobs,
            queued=queued,
            credits_charged=charged,
            credits_refunded=refunded,
            processes=self.stores.lanes.processes_by_engine(),
        )

    async def health(self) -> dict[str, Any]:
        # Counting the jobs table costs a scan: a second-old count serves every probe.
        now = time.monotonic()
        if now - self._counts[0] > HEALTH_COUNTS_TTL_SECONDS:
            if self._counting is None:  # one count for every probe waiting on it
                self._counting = asyncio.ensure_future(anyio.to_thread.run_sync(self._count))
            await asyncio.shield(self._counting)
        counts = self._counts[1]
        served = self.service.served_cached()
        if served is None:
            served = await anyio.to_thread.run_sync(self.service.served)
        return {
            "status": "ok",
            "version": __version__,
            "workers": self.worker.processes if self.worker else 0,
            "lanes": served,  # engine -> processes serving it, across every running worker
            "jobs": {str(state): n for state, n in counts.items()},
        }
