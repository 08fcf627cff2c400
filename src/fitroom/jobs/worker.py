"""Workers: lease queued jobs, run them in child processes, record the outcome.

A worker runs ``slots`` lease loops on the event loop and a process pool of as many
children, so engine work uses every core without blocking the loop. Each running job
holds a lease that the loop renews; if the process dies, the lease expires and the
reaper (``fitroom.jobs.janitor``) queues the job again, up to ``max_attempts``.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import uuid
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import anyio

from fitroom.errors import BlobNotFound, EngineError, FitroomError
from fitroom.jobs.execute import Outcome, init_process, run_job
from fitroom.jobs.model import JobKind, JobState
from fitroom.jobs.notify import JobNotifier
from fitroom.jobs.service import job_prefix, output_key
from fitroom.jobs.store import JobRecord, JobStore
from fitroom.settings import Settings
from fitroom.storage.base import Storage

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs jobs from the store until cancelled."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        storage: Storage,
        notifier: JobNotifier,
        slots: int,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.storage = storage
        self.notifier = notifier
        self.slots = max(1, slots)
        self.id = worker_id()
        self._pool: ProcessPoolExecutor | None = None
        self._running: set[str] = set()

    def _new_pool(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads (event loop, thread pool) and
        # forking those is unsafe; children pay the imports once and then stay warm.
        return ProcessPoolExecutor(
            max_workers=self.slots,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_process,
            initargs=((JobKind.CLOTHING.value, JobKind.GLASSES.value),),
        )

    async def run(self) -> None:
        self._pool = self._new_pool()
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(self.slots):
                    group.create_task(self._loop())
        finally:
            pool, self._pool = self._pool, None
            if pool is not None:
                _retire(pool, kill=True)  # runs in it are handed back just below
            self._hand_back()

    def _hand_back(self) -> None:
        """On a clean stop, queue the jobs this worker was running at once, rather than
        leaving them to wait for their leases to expire."""
        for job_id in list(self._running):
            try:
                self.jobs.retry_later(
                    job_id, self.id, code="worker_stopped", message="The worker stopped mid-run."
                )
            except Exception:  # the reaper will still requeue it when the lease expires
                log.exception("could not hand back job %s", job_id)
        self._running.clear()

    async def _loop(self) -> None:
        while True:
            record = await anyio.to_thread.run_sync(
                self.jobs.lease, self.id, self.settings.lease_seconds
            )
            if record is None:
                await self.notifier.wait_for_queued(self.settings.poll_interval_seconds * 5)
                continue
            self._running.add(record.id)
            await self._run(record)
            # Not in a finally: a job interrupted by cancellation stays listed, and is
            # handed back by run() on the way out.
            self._running.discard(record.id)

    async def _run(self, record: JobRecord) -> None:
        try:
            inputs = await anyio.to_thread.run_sync(self._read_inputs, record)
        except BlobNotFound:
            await self._finish_failed(record, "image_load_error", "The job's input images are gone.")
            return
        loop = asyncio.get_running_loop()
        pool = self._pool
        assert pool is not None
        try:
            future = loop.run_in_executor(
                pool,
                run_job,
                record.spec.model_dump(mode="json"),
                inputs,
                self.settings.max_image_pixels,
            )
            outcome = await self._await_with_lease(record, future)
        except TimeoutError:
            # The run is still computing in its child: stop it, or it holds a slot forever.
            self._replace_pool(pool, kill=True)
            await self._finish_failed(
                record,
                "timed_out",
                f"The job ran longer than {self.settings.job_timeout_seconds:g} seconds.",
                state=JobState.TIMED_OUT,
            )
            return
        except LeaseLost:
            log.warning("job %s: lease lost; another worker owns it now", record.id)
            return
        except EngineError as exc:
            await self._finish_failed(record, exc.code, exc.message)
            return
        except FitroomError as exc:  # e.g. an input that no longer decodes
            await self._finish_failed(record, exc.code, exc.message)
            return
        except BrokenProcessPool:
            log.error("job %s: a worker process died; restarting the pool", record.id)
            self._replace_pool(pool, kill=False)
            await anyio.to_thread.run_sync(
                lambda: self.jobs.retry_later(
                    record.id, self.id, code="worker_lost", message="The worker process stopped."
                )
            )
            return
        except Exception:
            log.exception("job %s: engine failed unexpectedly", record.id)
            await anyio.to_thread.run_sync(
                lambda: self.jobs.retry_later(
                    record.id,
                    self.id,
                    code="internal_error",
                    message="The engine failed unexpectedly.",
                )
            )
            self.notifier.job_ended(record.id)
            return
        await anyio.to_thread.run_sync(self._store_outcome, record, outcome)
        self.notifier.job_ended(record.id)

    def _replace_pool(self, old: ProcessPoolExecutor, *, kill: bool) -> None:
        """Swap in a fresh pool, unless another slot already replaced this one; with
        ``kill``, end the old pool's children now. Runs of other jobs in that pool then
        fail with BrokenProcessPool and go back to the queue."""
        if self._pool is old:
            self._pool = self._new_pool()
        _retire(old, kill=kill)

    async def _await_with_lease(self, record: JobRecord, future: asyncio.Future) -> Outcome:
        """Wait for the child's result, renewing the lease meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.job_timeout_seconds
        renew_every = max(self.settings.lease_seconds / 3, 0.2)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                future.add_done_callback(_ignore_outcome)
                raise TimeoutError
            done, _ = await asyncio.wait({future}, timeout=min(renew_every, remaining))
            if done:
                return future.result()
            renewed = await anyio.to_thread.run_sync(
                self.jobs.renew, record.id, self.id, self.settings.lease_seconds
            )
            if not renewed:
                future.add_done_callback(_ignore_outcome)
                raise LeaseLost(record.id)

    def _read_inputs(self, record: JobRecord) -> dict[str, bytes]:
        return {name: self.storage.get(key)[0] for name, key in record.inputs.items()}

    def _store_outcome(self, record: JobRecord, outcome: Outcome) -> None:
        outputs = []
        for index, out in enumerate(outcome.outputs):
            key = output_key(record.id, index, out.extension)
            self.storage.put(key, out.data, out.content_type)
            outputs.append(
                {
                    "key": key,
                    "content_type": out.content_type,
                    "width": out.width,
                    "height": out.height,
                    "size": len(out.data),
                }
            )
        if self.jobs.succeed(record.id, self.id, outputs, outcome.metadata):
            self._drop_inputs(record)
        else:  # lease lost meanwhile: the job belongs to someone else; drop our outputs
            for out in outputs:
                self.storage.delete_prefix(out["key"])

    def _drop_inputs(self, record: JobRecord) -> None:
        """Inputs are only needed to run the job; a finished job keeps its results only."""
        self.storage.delete_prefix(job_prefix(record.id) + "inputs/")

    async def _finish_failed(
        self, record: JobRecord, code: str, message: str, *, state: JobState = JobState.FAILED
    ) -> None:
        def fail() -> None:
            if self.jobs.fail(record.id, self.id, code=code, message=message, state=state):
                self._drop_inputs(record)

        await anyio.to_thread.run_sync(fail)
        self.notifier.job_ended(record.id)


def _retire(pool: ProcessPoolExecutor, *, kill: bool) -> None:
    """Shut a pool down; with ``kill``, end its children now rather than after their run."""
    if kill:
        # ProcessPoolExecutor has no public way to stop a running task before Python
        # 3.14's terminate_workers(); killing its children is what that does.
        processes = getattr(pool, "_processes", None) or {}
        for process in list(processes.values()):
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)


def _ignore_outcome(future: asyncio.Future) -> None:
    """A run nobody waits for any more (timed out, lease lost): its result or error is
    moot, but must be retrieved, or asyncio logs it as never retrieved."""
    if not future.cancelled():
        future.exception()


class LeaseLost(Exception):
    """The job's lease expired and was taken over; this worker must drop the job."""
