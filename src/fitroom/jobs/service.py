"""The try-on service: the one object every dialect talks to.

It turns a canonical ``JobSpec`` plus image fields into a durable queued job (auth,
rate limits, image loading and validation, credits, concurrency) and a stored job back
into a ``JobView`` (queue position, estimate, signed result URLs). Dialects translate
to and from it; they never touch the store, storage or images themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import anyio
from PIL import Image

from fitroom.errors import (
    BlobNotFound,
    ImageError,
    InsufficientCredits,
    JobNotFound,
    Unauthenticated,
)
from fitroom.images.decode import DecodedImage
from fitroom.images.encode import data_uri
from fitroom.images.limits import ImageLimits
from fitroom.images.loader import ImageLoader, LoadedImage
from fitroom.jobs.keys import ApiKey, KeyStore
from fitroom.jobs.lanes import LaneStore
from fitroom.jobs.model import JobSpec, JobState, JobView, OutputView, new_job_id
from fitroom.jobs.notify import JobNotifier
from fitroom.jobs.ratelimit import RateLimiter
from fitroom.jobs.routing import Router
from fitroom.jobs.store import JobRecord, JobStore
from fitroom.jobs.terms import DialectTerms
from fitroom.settings import Settings
from fitroom.storage.base import Storage

log = logging.getLogger(__name__)

T = TypeVar("T")

# What each input is for, in an image error's message.
_ROLES = {"person": "the person photo", "garment": "the garment photo", "glasses": "the glasses photo"}
# FASHN's published limit on its credits endpoint, per key.
CREDITS_RATE, CREDITS_PERIOD_SECONDS = 30, 10.0
# How long a verified key is trusted without asking the store again, and how many are kept.
_VERIFIED_TTL_SECONDS = 1.0
_VERIFIED_MAX = 10_000
# How long a poll's reading of a job serves the next polls, and how many are kept.
_RECENT_FINAL_SECONDS = 5.0
_RECENT_ACTIVE_SECONDS = 0.5
_RECENT_MAX = 10_000
# How long the service trusts its last reading of which engines running workers serve.
_LANES_TTL_SECONDS = 1.0


@dataclass(frozen=True)
class ImageInput:
    """One image field of a request: its text (URL, base64, data URI) or uploaded bytes,
    the field's name as the client knows it, and the dialect's limits for it."""

    value: str | bytes
    field: str
    limits: ImageLimits


def input_key(job_id: str, name: str) -> str:
    return f"jobs/{job_id}/inputs/{name}"


def output_key(job_id: str, index: int, extension: str) -> str:
    return f"jobs/{job_id}/outputs/{index}.{extension}"


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/"


class TryOnService:
    """Submit and read jobs on behalf of a key."""

    def __init__(
        self,
        settings: Settings,
        *,
        keys: KeyStore,
        jobs: JobStore,
        storage: Storage,
        loader: ImageLoader,
        limiter: RateLimiter,
        notifier: JobNotifier,
        lanes: LaneStore,
        dialects: Mapping[str, DialectTerms],
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.jobs = jobs
        self.storage = storage
        self.loader = loader
        self.limiter = limiter
        self.notifier = notifier
        self.lanes = lanes
        self.dialects = dialects
        self.router = Router(settings, dialects)
        self._served: tuple[float, dict[str, int]] = (float("-inf"), {})
        self._verified: dict[str, tuple[float, ApiKey]] = {}  # raw key -> (trusted until, key)
        # job id -> (kept until, record, view unless it must be rebuilt): see ``_remember``
        self._recent: dict[str, tuple[float, JobRecord, JobView | None]] = {}
        self._reads: dict[str, asyncio.Future[tuple[JobRecord | None, JobView | None]]] = {}
        self._verifying: dict[str, asyncio.Future[ApiKey]] = {}

    # --- keys and limits -----------------------------------------------------------------

    async def authenticate(self, raw: str | None, address: str | None = None) -> ApiKey:
        """The key behind ``raw``; ``Unauthenticated`` if missing, unknown or revoked.

        Wrong keys are counted per client ``address`` in a bucket the size of the poll
        bucket: guessing keys, or a client stuck on a revoked one, meets a 429 soon."""
        if not raw:
            raise Unauthenticated("Invalid or missing authentication")
        cached = self._verified.get(raw)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            key = await self._single_flight(self._verifying, raw, self.keys.verify)
        except Unauthenticated:
            await self.check_address_rate(address, "bad-key")
            raise
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified = {r: entry for r, entry in self._verified.items() if entry[0] > now}
        # A key is trusted for a second: a client's polls skip the store, and a revoked
        # key is refused within that second.
        self._verified[raw] = (now + _VERIFIED_TTL_SECONDS, key)
        return key

    async def authenticate_for_polling(self, raw: str | None, address: str | None = None) -> ApiKey | None:
        """Polling may come without a key (the vendors' own examples send none) unless
        ``FITROOM_POLLING_REQUIRES_KEY`` is set; a key that is sent must be valid.
        Keyless polls count against the client address's poll bucket instead."""
        if raw is None and not self.settings.polling_requires_key:
            await self.check_address_rate(address, "poll")
            return None
        return await self.authenticate(raw, address)

    async def check_address_rate(self, address: str | None, group: str) -> None:
        """Take a token from the client address's bucket for ``group``, the size of the
        per-key poll bucket; raises ``RateLimited`` when it is empty."""
        s = self.settings
        await self.limiter.take(f"address:{address or 'unknown'}:{group}", s.poll_rate, s.poll_period_seconds)

    async def check_rate(self, key: ApiKey, group: str) -> None:
        """Take a token from ``key``'s bucket for ``group`` (submit, poll, credits), or
        raise ``RateLimited``: the key's own rates, else the server's; the credits
        endpoint has FASHN's fixed limit."""
        s = self.settings
        if group == "submit":
            rate, period = key.submit_rate or s.submit_rate, key.submit_period or s.submit_period_seconds
        elif group == "poll":
            rate, period = key.poll_rate or s.poll_rate, key.poll_period or s.poll_period_seconds
        else:
            rate, period = CREDITS_RATE, CREDITS_PERIOD_SECONDS
        await self.limiter.take(f"{key.id}:{group}", rate, period)

    def cost(self, dialect: str, num_outputs: int) -> int:
        """Credits a job costs: the dialect's price per image times the images asked for."""
        terms = self.dialects[dialect]
        return self.settings.price(terms.name, terms.price_per_image) * num_outputs

    # --- submit ---------------------------------------------------------------------------

    async def submit(
        self, key: ApiKey, spec: JobSpec, images: Mapping[str, ImageInput]
    ) -> JobView:
        """Validate and store the inputs, charge the key and queue the job.

        Every check that can refuse the request runs before anything is written, and a
        refusal at the final atomic insert (credits, concurrency) removes the stored
        inputs again: a refused request leaves nothing behind.
        """
        await self.check_rate(key, "submit")
        cost = self.cost(spec.dialect, spec.options.num_outputs)
        engine = spec.engine or self.router.engine_for(spec.dialect, spec.kind)
        spec = spec.model_copy(update={"cost": cost, "engine": engine})
        # Cheap early refusal, so a key without credit does not make us fetch URLs;
        # the store re-checks atomically when it inserts.
        if key.credits is not None and key.credits < cost:
            raise InsufficientCredits("Insufficient credits available")

        loaded = await asyncio.gather(*(self._load(name, item) for name, item in images.items()))
        job_id = new_job_id()
        blobs: dict[str, str] = {}

        def write_and_insert() -> JobView:
            try:
                for name, item in zip(images, loaded, strict=True):
                    blob = input_key(job_id, name)
                    self.storage.put(blob, item.data, _content_type(item.image))
                    blobs[name] = blob
                record = self.jobs.create(
                    job_id=job_id,
                    key=key,
                    spec=spec,
                    inputs=blobs,
                    max_attempts=self.settings.max_attempts,
                    concurrency_limit=key.concurrency_limit or self.settings.concurrency_limit,
                )
            except BaseException:
                self.storage.delete_prefix(job_prefix(job_id))
                raise
            return self.view(record)

        view = await anyio.to_thread.run_sync(write_and_insert)
        self.notifier.job_queued()
        return view

    async def _load(self, name: str, item: ImageInput) -> LoadedImage:
        """Load one image; an error names the field as the client sent it and what it
        is for (``garm_img (the garment photo): ...``), so the fix is obvious."""
        try:
            return await self.loader.load(item.value, item.limits, field=item.field)
        except ImageError as exc:
            role = _ROLES.get(name)
            where = f"{item.field} ({role})" if role else item.field
            raise type(exc)(f"{where}: {exc.message}", field=item.field) from None

    # --- read -----------------------------------------------------------------------------

    async def get(self, job_id: str, key: ApiKey | None) -> JobView:
        """The job as ``key`` may see it. With no key (keyless polling), the 128-bit id
        is the capability. Another key's job is ``JobNotFound``, as is an unknown id."""
        if key is not None:
            await self.check_rate(key, "poll")
        if not _plausible(job_id):
            raise JobNotFound("Job not found")

        now = time.monotonic()
        cached = self._recent.get(job_id)
        if cached is not None and cached[0] > now:
            record, view = cached[1], cached[2]
            if key is not None and record.key_id != key.id:
                raise JobNotFound("Job not found")
            if view is not None:
                return view
            if not record.spec.return_base64:  # signing fresh URLs needs no I/O
                return self.view(record)

        found, fresh = await self._single_flight(self._reads, job_id, self._read)
        if found is None or fresh is None or (key is not None and found.key_id != key.id):
            raise JobNotFound("Job not found")
        return fresh

    def _read(self, job_id: str) -> tuple[JobRecord | None, JobView | None]:
        """One trip to the thread pool for the row and its view."""
        record = self.jobs.get(job_id)
        if record is None:
            return None, None
        view = self.view(record)
        self._remember(record, view)
        return record, view

    async def _single_flight(self, pending: dict[str, asyncio.Future[T]], name: str, read: Callable[[str], T]) -> T:
        """``read(name)`` in the thread pool, shared by every request that asks for the same
        ``name`` meanwhile: when a cached entry expires under load, one read refreshes it,
        rather than every client's at once."""
        future = pending.get(name)
        if future is None:
            future = asyncio.ensure_future(anyio.to_thread.run_sync(read, name))
            pending[name] = future
            future.add_done_callback(lambda _: pending.pop(name, None))
        return await asyncio.shield(future)

    def forget(self, job_ids: list[str]) -> None:
        """Drop what polls remembered of these jobs (deleted by retention)."""
        for job_id in job_ids:
            self._recent.pop(job_id, None)

    def _remember(self, record: JobRecord, view: JobView) -> None:
        """Keep what a poll read for the next polls: a final job for a few seconds (it no
        longer changes; a succeeded one keeps its record, so that each poll still signs
        fresh URLs), a queued or running one for half a second (a client learns that it
        ended at most that much later)."""
        now = time.monotonic()
        if len(self._recent) >= _RECENT_MAX:
            self._recent = {job: entry for job, entry in self._recent.items() if entry[0] > now}
        ttl = _RECENT_FINAL_SECONDS if record.state.is_final else _RECENT_ACTIVE_SECONDS
        self._recent[record.id] = (now + ttl, record, None if record.state is JobState.SUCCEEDED else view)

    async def wait(self, job_id: str, key: ApiKey | None, timeout: float) -> JobView:
        """Wait until the job ends or ``timeout`` passes, holding no thread meanwhile:
        in-process workers wake us at once; jobs run elsewhere are re-read each second."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await anyio.to_thread.run_sync(self.jobs.get, job_id)
            if record is None or (key is not None and record.key_id != key.id):
                raise JobNotFound("Job not found")
            remaining = deadline - loop.time()
            if record.state.is_final or remaining <= 0:
                return await anyio.to_thread.run_sync(self.view, record)
            await self.notifier.wait_for(job_id, min(remaining, 1.0))

    def served_cached(self) -> dict[str, int] | None:
        """``served()`` when its last reading is fresh enough to need no store read."""
        read_at, served = self._served
        return served if time.monotonic() - read_at <= _LANES_TTL_SECONDS else None

    def served(self) -> dict[str, int]:
        """Engine -> processes that running workers give it, read at most once a second."""
        read_at, served = self._served
        now = time.monotonic()
        if now - read_at > _LANES_TTL_SECONDS:
            served = self.lanes.processes_by_engine()
            self._served = (now, served)
        return served

    def view(self, record: JobRecord) -> JobView:
        """Canonical view of a stored job, with fresh signed URLs for its results."""
        position = eta = waiting = None
        active = record.state in (JobState.QUEUED, JobState.RUNNING)
        processes = self.served().get(record.engine, 0) if active else 0
        if record.state is JobState.QUEUED:
            position = self.jobs.queue_position(record)
            if processes == 0:
                waiting = (
                    f"No running worker serves engine {record.engine}; "
                    "the job stays queued until one starts (fitroom worker --engines "
                    f"{record.engine})."
                )
        if record.state in (JobState.QUEUED, JobState.RUNNING) and waiting is None:
            eta = self.jobs.estimate_seconds(record, max(processes, 1))
        outputs: list[OutputView] = []
        if record.state is JobState.SUCCEEDED:
            outputs = [self._output_view(record, o) for o in record.outputs]
        return JobView(
            id=record.id,
            state=record.state,
            spec=record.spec,
            created_at=record.created_at,
            started_at=record.started_at,
            finished_at=record.finished_at,
            queue_position=position,
            eta_seconds=eta,
            waiting=waiting,
            outputs=outputs,
            error_code=record.error_code,
            error_message=record.error_message,
            metadata=record.metadata or {},
        )

    def _output_view(self, record: JobRecord, output: dict) -> OutputView:
        if record.spec.return_base64:
            try:
                data, content_type = self.storage.get(output["key"])
            except BlobNotFound:
                url = ""
            else:
                url = data_uri(data, content_type)
        else:
            url = self.storage.url(output["key"], self.settings.result_url_ttl_seconds)
        return OutputView(
            url=url,
            content_type=output["content_type"],
            width=output["width"],
            height=output["height"],
            size=output["size"],
        )


def _content_type(image: DecodedImage) -> str:
    Image.init()  # Pillow fills its MIME table as it registers format plugins
    return Image.MIME.get(image.format, "application/octet-stream")


def _plausible(job_id: str) -> bool:
    """Ids are 32 hex digits; anything else cannot exist, so skip the database."""
    return len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)
