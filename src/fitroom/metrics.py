"""What an operator watches, in Prometheus's format (``prometheus-client``).

Three sources, each exposed where it lives:

* ``REQUESTS``: HTTP requests answered, by dialect, route and status, counted by each API
  process. With several API processes on a machine (``serve --api-workers N``) they are
  added up through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).
* ``RUN_SECONDS``: engine run times, observed by the lanes. Lanes inside ``serve`` show in
  its ``/metrics``; a ``fitroom worker`` has no API, so it serves its own on
  ``--metrics-port`` (``FITROOM_WORKER_METRICS_PORT``) for Prometheus to scrape.
* ``StoreCollector``: figures read from the shared store when scraped: jobs by engine,
  state and error code, queue depth and the age of the oldest queued job per engine,
  credits charged and refunded, engine processes running. They describe the whole
  cluster, so every server reports the same values: do not sum them across servers.
  They cover the jobs the store still holds (``FITROOM_RETENTION_HOURS``), hence gauges.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

REQUESTS = Counter(
    "fitroom_http_requests",
    "HTTP requests answered, by dialect, route and status (this process, or this machine's API processes).",
    ["dialect", "route", "status"],
    registry=None,
)
RUN_SECONDS = Histogram(
    "fitroom_engine_run_seconds",
    "Wall time of one engine run, per engine: one observation per job (a batch counts for each of its jobs).",
    ["engine"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=None,
)


@dataclass(frozen=True)
class StoreFigures:
    """One reading of the store (see ``JobStore.figures``)."""

    jobs: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (engine, state, error code) -> n
    queued: dict[str, tuple[int, float]] = field(default_factory=dict)  # engine -> (depth, oldest age s)
    credits_charged: int = 0
    credits_refunded: int = 0
    processes: dict[str, int] = field(default_factory=dict)  # engine -> engine processes running


class StoreCollector(Collector):
    """Cluster-wide gauges read at scrape time, at most every ``ttl`` seconds (several
    Prometheus servers, or a fast scrape interval, then cost one reading)."""

    def __init__(self, read: Callable[[], StoreFigures], ttl: float = 1.0) -> None:
        self._read = read
        self._ttl = ttl
        self._cached: tuple[float, StoreFigures] | None = None
        self._lock = threading.Lock()

    def _figures(self) -> StoreFigures:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._ttl:
                self._cached = (now, self._read())
            return self._cached[1]

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        jobs = GaugeMetricFamily(
            "fitroom_jobs",
            "Jobs the store holds, by engine, state and error code (cluster-wide; do not sum across servers).",
            labels=["engine", "state", "error_code"],
        )
        for (engine, state, code), count in sorted(figures.jobs.items()):
            jobs.add_metric([engine, state, code], count)
        yield jobs
        depth = GaugeMetricFamily("fitroom_queue_depth", "Jobs queued, per engine (cluster-wide).", labels=["engine"])
        oldest = GaugeMetricFamily(
            "fitroom_queue_oldest_seconds",
            "Age of the oldest queued job, per engine (cluster-wide).",
            labels=["engine"],
        )
        for engine, (count, age) in sorted(figures.queued.items()):
            depth.add_metric([engine], count)
            oldest.add_metric([engine], age)
        yield depth
        yield oldest
        yield GaugeMetricFamily(
            "fitroom_credits_charged",
            "Credits charged at submit for the jobs the store holds (cluster-wide).",
            value=figures.credits_charged,
        )
        yield GaugeMetricFamily(
            "fitroom_credits_refunded",
            "Of those, credits refunded because the job failed or was canceled (cluster-wide).",
            value=figures.credits_refunded,
        )
        processes = GaugeMetricFamily(
            "fitroom_engine_processes", "Engine processes running workers give each engine.", labels=["engine"]
        )
        for engine, count in sorted(figures.processes.items()):
            processes.add_metric([engine], count)
        yield processes


def registry(*collectors: Collector) -> CollectorRegistry:
    """A registry with this process's request and run metrics plus ``collectors``; in
    multiprocess mode, the figures of every process of the machine instead of this one's."""
    import os

    fresh = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(fresh)
    else:
        fresh.register(REQUESTS)
        fresh.register(RUN_SECONDS)
    for collector in collectors:
        fresh.register(collector)
    return fresh
