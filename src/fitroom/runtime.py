"""The running server's parts, built once from ``Settings`` and shared.

``Runtime.start`` migrates the database and wires store, storage, image loader, rate
limiter and service; in the embedded default it also starts in-process workers and the
janitor. The CLI uses ``Runtime.open`` (no event loop, no workers) for ``fitroom keys``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import anyio
import sqlalchemy

from fitroom import __version__
from fitroom.api.fashn import status_body as fashn_status_body
from fitroom.images.loader import ImageLoader
from fitroom.jobs.db import make_engine, migrate
from fitroom.jobs.janitor import Janitor
from fitroom.jobs.keys import KeyStore
from fitroom.jobs.notify import JobNotifier
from fitroom.jobs.ratelimit import MemoryRateLimiter
from fitroom.jobs.service import TryOnService
from fitroom.jobs.store import JobStore
from fitroom.jobs.webhooks import WebhookSender
from fitroom.jobs.worker import Worker
from fitroom.settings import Settings
from fitroom.storage.local import LocalStorage
from fitroom.storage.signing import UrlSigner

log = logging.getLogger(__name__)


@dataclass
class Stores:
    """What needs no event loop: database, keys, jobs, storage."""

    settings: Settings
    db: sqlalchemy.Engine
    keys: KeyStore
    jobs: JobStore
    signer: UrlSigner
    storage: LocalStorage

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
            signer=signer,
            storage=LocalStorage(settings.blob_dir, signer, settings.resolved_base_url),
        )

    def close(self) -> None:
        self.db.dispose()


@dataclass
class Runtime:
    stores: Stores
    service: TryOnService
    loader: ImageLoader
    worker: Worker | None = None
    tasks: list[asyncio.Task] = field(default_factory=list)

    @property
    def keys(self) -> KeyStore:
        return self.stores.keys

    @property
    def jobs(self) -> JobStore:
        return self.stores.jobs

    @property
    def storage(self) -> LocalStorage:
        return self.stores.storage

    @property
    def signer(self) -> UrlSigner:
        return self.stores.signer

    @classmethod
    async def start(cls, settings: Settings, *, run_workers: bool = True) -> Runtime:
        stores = await anyio.to_thread.run_sync(Stores.open, settings)
        notifier = JobNotifier()
        loader = ImageLoader.from_settings(settings)
        service = TryOnService(
            settings,
            keys=stores.keys,
            jobs=stores.jobs,
            storage=stores.storage,
            loader=loader,
            limiter=MemoryRateLimiter(),
            notifier=notifier,
        )
        runtime = cls(stores=stores, service=service, loader=loader)
        webhooks = WebhookSender(
            jobs=stores.jobs,
            view=service.view,
            renderers={"fashn": fashn_status_body},
            post=loader.fetcher.post_json,
        )
        janitor = Janitor(
            settings,
            jobs=stores.jobs,
            storage=stores.storage,
            deliver_webhooks=webhooks.deliver_pending,
            on_requeue=notifier.job_queued,
        )
        runtime.tasks.append(asyncio.create_task(janitor.run(), name="janitor"))
        if run_workers and settings.worker_count > 0:
            runtime.worker = Worker(
                settings,
                jobs=stores.jobs,
                storage=stores.storage,
                notifier=notifier,
                slots=settings.worker_count,
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
        self.stores.close()

    async def health(self) -> dict:
        counts = await anyio.to_thread.run_sync(self.jobs.counts)
        return {
            "status": "ok",
            "version": __version__,
            "workers": self.worker.slots if self.worker else 0,
            "jobs": {str(state): n for state, n in counts.items()},
        }
