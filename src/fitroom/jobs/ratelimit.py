"""Request rate limits: token buckets, one per key (or client address) and endpoint group,
in this process (``MemoryRateLimiter``) or shared by a cluster in Redis
(``RedisRateLimiter``, with ``FITROOM_REDIS_URL``).

A bucket holds up to ``rate`` tokens and refills at ``rate / period`` tokens a second, so
a key may burst ``rate`` requests and then sustain ``rate`` per ``period``: FASHN's
published "50 requests per 60 s" read the way its clients expect.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from fitroom.errors import RateLimited

log = logging.getLogger(__name__)


class RateLimiter(ABC):
    """Admits or refuses one request against a bucket."""

    @abstractmethod
    async def take(self, bucket: str, rate: int, period: float) -> None:
        """Take a token from ``bucket`` (e.g. ``"<key id>:submit"``), or raise RateLimited
        with ``retry_after`` the whole seconds until one is available."""

    async def aclose(self) -> None:
        """Release connections, if any."""


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

    async def take(self, bucket: str, rate: int, period: float) -> None:
        self.check(bucket, rate, period)

    def check(self, bucket: str, rate: int, period: float) -> None:
        """``take``, synchronously: the buckets are in this process."""
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


# A token bucket in one Redis hash, updated atomically by one script per request. The
# clock is Redis's own, so that the servers' clocks need not agree.
_TOKEN_BUCKET = """
local rate = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1])
local refill = rate / period
if tokens == nil then
  tokens = rate
else
  tokens = math.min(rate, tokens + math.max(0, now - tonumber(state[2])) * refill)
end
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / refill end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(period * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter(RateLimiter):
    """Token buckets in Redis, shared by every server process of a cluster: one round
    trip per request. When Redis cannot be reached, requests are still served: this
    process's own buckets take over, with a warning, until Redis answers again."""

    RETRY_SECONDS = 5.0  # after a failure, Redis is tried again this much later

    def __init__(self, url: str, *, prefix: str = "fitroom:rate:", timeout: float = 0.5) -> None:
        import redis.asyncio as aioredis

        self._redis = aioredis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self._redis.register_script(_TOKEN_BUCKET)
        self._prefix = prefix
        self.fallback = MemoryRateLimiter()
        self._down_until = 0.0

    async def take(self, bucket: str, rate: int, period: float) -> None:
        if rate <= 0 or period <= 0:
            raise ValueError("rate and period must be positive")
        now = time.monotonic()
        if now >= self._down_until:
            try:
                wait = float(await self._script(keys=[self._prefix + bucket], args=[rate, period]))
            except Exception as exc:  # redis.RedisError, OSError, timeouts: all mean "not now"
                if self._down_until == 0.0 or now >= self._down_until:
                    log.warning("Redis rate limiter unreachable (%s); limiting per process for now", exc)
                self._down_until = now + self.RETRY_SECONDS
            else:
                if self._down_until:
                    log.warning("Redis rate limiter reachable again")
                    self._down_until = 0.0
                if wait > 0:
                    raise RateLimited(
                        f"Too many requests: {rate} per {period:g} seconds allowed.",
                        retry_after=max(1, math.ceil(wait - 1e-9)),
                    )
                return
        self.fallback.check(bucket, rate, period)

    async def aclose(self) -> None:
        await self._redis.aclose()
