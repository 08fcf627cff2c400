"""Workers: one lane per engine, each leasing only its engine's jobs.

A ``Worker`` runs a ``Lane`` for each engine it was given (``fitroom worker --engines``,
or every ready engine). A lane owns the processes its engine runs in: one pool per
device, one process per GPU for a CUDA engine and up to one per core for a CPU engine,
each process loading the engine once. It runs one lease loop per process; a loop claims
the oldest queued job of its engine, plus compatible ones when the engine takes batches,
hands them to a process in one call, renews their leases meanwhile and records each
outcome. If a process dies, its leases expire and the reaper (``janitor``) queues the
jobs again, up to ``max_attempts``. The worker registers its lanes in the store with a
heartbeat, so servers can tell which engines nobody serves.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import Any

import anyio

from fitroom.engines import registry
from fitroom.engines.base import Engine
from fitroom.errors import BlobNotFound, EngineUnavailable
from fitroom.jobs.execute import Failure, Outcome, init_process, run_jobs
from fitroom.jobs.lanes import LaneStore
from fitroom.jobs.model import JobState
from fitroom.jobs.notify import JobNotifier
from fitroom.jobs.service import job_prefix, output_key
from fitroom.jobs.store import JobRecord, JobStore
from fitroom.metrics import RUN_SECONDS
from fitroom.settings import Settings
from fitroom.storage.base import Storage

log = logging.getLogger(__name__)


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class LanePlan:
    """One engine and the device of each process its lane will run."""

    engine: type[Engine]
    devices: tuple[str, ...]


def plan_lanes(settings: Settings, engines: Sequence[str] | None) -> list[LanePlan]:
    """The lanes to run: for ``engines`` by name, each of which must be ready here (else
    ``EngineUnavailable`` says what is missing); for None, every ready engine."""
    plans = []
    for name in engines if engines is not None else registry.names(settings):
        cls = registry.engine_class(name, settings)
        missing = cls.missing(settings)
        if missing is not None:
            if engines is not None:
                raise EngineUnavailable(f"engine {name} cannot run on this machine: {missing}")
            log.info("no lane for engine %s: %s", name, missing)
            continue
        plans.append(LanePlan(engine=cls, devices=tuple(cls.devices(settings))))
    return plans


class Worker:
    """Runs the lanes of ``plans`` until cancelled."""

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: JobStore,
        lanes: LaneStore,
        storage: Storage,
        notifier: JobNotifier,
        plans: Sequence[LanePlan],
    ) -> None:
        self.settings = settings
        self.lane_store = lanes
        self.id = worker_id()
        self.lanes = [
            Lane(settings, plan=plan, jobs=jobs, storage=storage, notifier=notifier, worker_id=self.id)
            for plan in plans
        ]

    @property
    def processes(self) -> int:
        return sum(len(lane.plan.devices) for lane in self.lanes)

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._heartbeat())
                for lane in self.lanes:
                    group.create_task(lane.run())
        finally:
            try:
                await anyio.to_thread.run_sync(self.lane_store.remove, self.id)
            except Exception:  # the lanes go stale by themselves
                log.exception("could not unregister lanes of worker %s", self.id)

    async def _heartbeat(self) -> None:
        lanes = {lane.plan.engine.name: list(lane.plan.devices) for lane in self.lanes}
        host, pid = socket.gethostname(), os.getpid()
        while True:
            try:
                await anyio.to_thread.run_sync(self.lane_store.beat, self.id, host, pid, lanes)
            except Exception:  # e.g. the database restarting: beat again next time
                log.exception("lane heartbeat failed")
            await asyncio.sleep(self.settings.lane_heartbeat_seconds)


class Lane:
    """One engine's share of a worker: its process pools and lease loops."""

    def __init__(
        self,
        settings: Settings,
        *,
        plan: LanePlan,
        jobs: JobStore,
        storage: Storage,
        notifier: JobNotifier,
        worker_id: str,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.engine = plan.engine
        self.jobs = jobs
        self.storage = storage
        self.notifier = notifier
        self.worker_id = worker_id
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._running: set[str] = set()

    def _new_pool(self, device: str, processes: int) -> ProcessPoolExecutor:
        # spawn, not fork: the server process has threads (event loop, thread pool) and
        # forking those is unsafe; children pay the imports once and then stay warm.
        return ProcessPoolExecutor(
            max_workers=processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_process,
            initargs=(self.engine.name, device, self.settings.model_dump(mode="json")),
        )

    async def run(self) -> None:
        per_device = Counter(self.plan.devices)
        for device, processes in per_device.items():
            self._pools[device] = self._new_pool(device, processes)
        try:
            async with asyncio.TaskGroup() as group:
                for device in self.plan.devices:
                    group.create_task(self._loop(device))
        finally:
            pools, self._pools = list(self._pools.values()), {}
            for pool in pools:
                _retire(pool, kill=True)  # runs in them are handed back just below
            self._hand_back()

    def _hand_back(self) -> None:
        """On a clean stop, queue the jobs this lane was running at once, rather than
        leaving them to wait for their leases to expire."""
        for job_id in list(self._running):
            try:
                self.jobs.retry_later(
                    job_id, self.worker_id, code="worker_stopped", message="The worker stopped mid-run."
                )
            except Exception:  # the reaper will still requeue it when the lease expires
                log.exception("could not hand back job %s", job_id)
        self._running.clear()

    async def _loop(self, device: str) -> None:
        lease = partial(
            self.jobs.lease_batch,
            self.worker_id,
            self.settings.lease_seconds,
            engines=(self.engine.name,),
            room=self.engine.max_batch,
            key=lambda spec: self.engine.batch_key(spec.options),
            cost=lambda spec: self.engine.batch_cost(spec.options),
        )
        while True:
            records = await anyio.to_thread.run_sync(lease)
            if not records:
                await self.notifier.wait_for_queued(self.settings.poll_interval_seconds * 5)
                continue
            ids = [record.id for record in records]
            self._running.update(ids)
            await self._run(device, records)
            # Not in a finally: jobs interrupted by cancellation stay listed, and are
            # handed back by run() on the way out.
            self._running.difference_update(ids)

    async def _run(self, device: str, records: list[JobRecord]) -> None:
        ready: list[tuple[JobRecord, dict[str, bytes]]] = []
        for record in records:
            try:
                ready.append((record, await anyio.to_thread.run_sync(self._read_inputs, record)))
            except BlobNotFound:
                await self._finish_failed(record, "image_load_error", "The job's input images are gone.")
        if not ready:
            return
        records = [record for record, _ in ready]
        loop = asyncio.get_running_loop()
        pool = self._pools[device]
        started = loop.time()
        payload = [(record.spec.model_dump(mode="json"), inputs) for record, inputs in ready]
        try:
            future = loop.run_in_executor(pool, run_jobs, self.engine.name, payload, self.settings.max_image_pixels)
            outcomes = await self._await_with_leases(records, future)
        except TimeoutError:
            # The run is still computing in its child: stop it, or it holds a slot forever.
            # Only this device's pool of this lane goes; other lanes never notice.
            self._replace_pool(device, pool, kill=True)
            message = f"The job ran longer than {self.settings.job_timeout_seconds:g} seconds."
            for record in records:
                await self._finish_failed(record, "timed_out", message, state=JobState.TIMED_OUT)
            return
        except LeaseLost:
            log.warning("jobs %s: leases lost; other workers own them now", [r.id for r in records])
            return
        except BrokenProcessPool:
            log.error("engine %s: a process died; restarting the pool", self.engine.name)
            self._replace_pool(device, pool, kill=False)
            await self._retry_later(records, "worker_lost", "The worker process stopped.")
            return
        except Exception:
            log.exception("engine %s failed unexpectedly on jobs %s", self.engine.name, [r.id for r in records])
            await self._retry_later(records, "internal_error", "The engine failed unexpectedly.")
            return
        seconds = loop.time() - started
        for record, outcome in zip(records, outcomes, strict=True):
            RUN_SECONDS.labels(self.engine.name).observe(seconds)
            if isinstance(outcome, Failure):
                await self._finish_failed(record, outcome.code, outcome.message)
            else:
                await anyio.to_thread.run_sync(self._store_outcome, record, outcome)
                self.notifier.job_ended(record.id)

    def _replace_pool(self, device: str, old: ProcessPoolExecutor, *, kill: bool) -> None:
        """Swap in a fresh pool for ``device``, unless another loop already replaced this
        one; with ``kill``, end the old pool's children now. Runs of other jobs in that
        pool then fail with BrokenProcessPool and go back to the queue."""
        if self._pools.get(device) is old:
            self._pools[device] = self._new_pool(device, Counter(self.plan.devices)[device])
        _retire(old, kill=kill)

    async def _await_with_leases(
        self, records: list[JobRecord], future: asyncio.Future[list[Outcome | Failure]]
    ) -> list[Outcome | Failure]:
        """Wait for the child's result, renewing every job's lease meanwhile. Jobs whose
        lease was taken over are left to their new owner; when all are, stop waiting."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.job_timeout_seconds
        renew_every = max(self.settings.lease_seconds / 3, 0.2)
        held = {record.id for record in records}
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                future.add_done_callback(_ignore_outcome)
                raise TimeoutError
            try:
                done, _ = await asyncio.wait({future}, timeout=min(renew_every, remaining))
            except asyncio.CancelledError:  # the worker is stopping; the run is handed back
                future.add_done_callback(_ignore_outcome)
                raise
            if done:
                return future.result()
            for job_id in list(held):
                renewed = await anyio.to_thread.run_sync(
                    self.jobs.renew, job_id, self.worker_id, self.settings.lease_seconds
                )
                if not renewed:
                    held.discard(job_id)
            if not held:
                future.add_done_callback(_ignore_outcome)
                raise LeaseLost([record.id for record in records])

    def _read_inputs(self, record: JobRecord) -> dict[str, bytes]:
        return {name: self.storage.get(key)[0] for name, key in record.inputs.items()}

    def _store_outcome(self, record: JobRecord, outcome: Outcome) -> None:
        outputs: list[dict[str, Any]] = []
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
        if self.jobs.succeed(record.id, self.worker_id, outputs, outcome.metadata):
            self._drop_inputs(record)
        else:  # lease lost meanwhile: the job belongs to someone else; drop our outputs
            for stored in outputs:
                self.storage.delete_prefix(stored["key"])

    def _drop_inputs(self, record: JobRecord) -> None:
        """Inputs are only needed to run the job; a finished job keeps its results only."""
        self.storage.delete_prefix(job_prefix(record.id) + "inputs/")

    async def _finish_failed(
        self, record: JobRecord, code: str, message: str, *, state: JobState = JobState.FAILED
    ) -> None:
        def fail() -> None:
            if self.jobs.fail(record.id, self.worker_id, code=code, message=message, state=state):
                self._drop_inputs(record)

        await anyio.to_thread.run_sync(fail)
        self.notifier.job_ended(record.id)

    async def _retry_later(self, records: list[JobRecord], code: str, message: str) -> None:
        for record in records:
            await anyio.to_thread.run_sync(
                partial(self.jobs.retry_later, record.id, self.worker_id, code=code, message=message)
            )
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


def _ignore_outcome(future: asyncio.Future[list[Outcome | Failure]]) -> None:
    """A run nobody waits for any more (timed out, lease lost): its result or error is
    moot, but must be retrieved, or asyncio logs it as never retrieved."""
    if not future.cancelled():
        future.exception()


class LeaseLost(Exception):
    """The jobs' leases expired and were taken over; this lane must drop them."""
