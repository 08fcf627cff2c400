"""Per-key request rate limits: token buckets, one per key and endpoint group.

A bucket holds up to ``rate`` tokens and refills at ``rate / period`` tokens a second, so
a key may burst ``rate`` requests and then sustain ``rate`` per ``period``: FASHN's
published "50 requests per 60 s" read the way its clients expect.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from fitroom.errors import RateLimited


class RateLimiter(ABC):
    """Admits or refuses one request against a bucket."""

    @abstractmethod
    def check(self, bucket: str, rate: int, period: float) -> None:
        """Take a token from ``bucket`` (e.g. ``"<key id>:submit"``), or raise RateLimited
        with ``retry_after`` the whole seconds until one is available."""


@dataclass
class _Bucket:
    tokens: float
    updated: float  # clock reading when ``tokens`` was last brought up to date
    period: float


class MemoryRateLimiter(RateLimiter):
    """Token buckets in this process's memory; each server process counts on its own."""

    # Idle buckets are swept at most this often, so the sweep's cost stays off the
    # request path however many keys there are.
    SWEEP_INTERVAL = 60.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # monotonic: a wall-clock jump must not refill or drain buckets
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def check(self, bucket: str, rate: int, period: float) -> None:
        if rate <= 0 or period <= 0:
            raise ValueError("rate and period must be positive")
        refill_per_second = rate / period
        with self._lock:
            now = self._clock()
            self._sweep(now)
            state = self._buckets.get(bucket)
            if state is None:
                state = self._buckets[bucket] = _Bucket(tokens=rate, updated=now, period=period)
            else:
                # min(): a key whose limit was lowered keeps no more than its new burst.
                elapsed = max(0.0, now - state.updated)
                state.tokens = min(rate, state.tokens + elapsed * refill_per_second)
                state.updated = now
                state.period = period
            if state.tokens >= 1:
                state.tokens -= 1
                return
            wait = (1 - state.tokens) / refill_per_second
        raise RateLimited(
            f"Too many requests: {rate} per {period:g} seconds allowed.",
            # The epsilon keeps float noise (2.0000000001 s) from adding a whole second.
            retry_after=math.ceil(wait - 1e-9),
        )

    def _sweep(self, now: float) -> None:
        """Forget buckets idle for longer than their period: they have refilled, so a new
        full bucket in their place admits exactly what they would have."""
        if now - self._last_sweep < self.SWEEP_INTERVAL:
            return
        self._last_sweep = now
        idle = [name for name, b in self._buckets.items() if now - b.updated >= b.period]
        for name in idle:
            del self._buckets[name]

    def __len__(self) -> int:
        """How many buckets are held (for tests and metrics)."""
        with self._lock:
            return len(self._buckets)
