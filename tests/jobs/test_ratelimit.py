"""Token buckets: bursts, refill, Retry-After, independence, bounded memory."""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from typing import Any

import pytest

from fitroom.errors import RateLimited
from fitroom.jobs.ratelimit import MemoryRateLimiter, RedisRateLimiter
from tests.redis_server import throwaway_redis


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def limiter(clock: ManualClock) -> MemoryRateLimiter:
    return MemoryRateLimiter(clock=clock)


def test_burst_up_to_the_rate_then_refused_with_retry_after(limiter: MemoryRateLimiter) -> None:
    for _ in range(5):
        limiter.check("k:submit", 5, 10)

    with pytest.raises(RateLimited) as refused:
        limiter.check("k:submit", 5, 10)

    assert refused.value.retry_after == 2  # one token every 10/5 s


def test_retry_after_rounds_up_to_whole_seconds(limiter: MemoryRateLimiter, clock: ManualClock) -> None:
    for _ in range(50):
        limiter.check("k:submit", 50, 60)
    with pytest.raises(RateLimited) as refused:
        limiter.check("k:submit", 50, 60)
    assert refused.value.retry_after == 2  # 1.2 s

    clock.now += 1.0
    with pytest.raises(RateLimited) as refused:
        limiter.check("k:submit", 50, 60)
    assert refused.value.retry_after == 1  # 0.2 s


def test_tokens_refill_over_time(limiter: MemoryRateLimiter, clock: ManualClock) -> None:
    for _ in range(5):
        limiter.check("k:poll", 5, 10)

    clock.now += 2.0
    limiter.check("k:poll", 5, 10)
    with pytest.raises(RateLimited):
        limiter.check("k:poll", 5, 10)

    clock.now += 100.0  # refills to the burst, never beyond it
    for _ in range(5):
        limiter.check("k:poll", 5, 10)
    with pytest.raises(RateLimited):
        limiter.check("k:poll", 5, 10)


def test_buckets_are_independent(limiter: MemoryRateLimiter) -> None:
    limiter.check("a:submit", 1, 60)
    limiter.check("a:poll", 1, 60)
    limiter.check("b:submit", 1, 60)
    with pytest.raises(RateLimited):
        limiter.check("a:submit", 1, 60)


def test_lowered_rate_caps_the_burst(limiter: MemoryRateLimiter) -> None:
    limiter.check("k:submit", 10, 10)  # nine tokens left under the old rate
    limiter.check("k:submit", 2, 10)
    limiter.check("k:submit", 2, 10)
    with pytest.raises(RateLimited):
        limiter.check("k:submit", 2, 10)


def test_idle_full_buckets_are_forgotten(limiter: MemoryRateLimiter, clock: ManualClock) -> None:
    for n in range(100):
        limiter.check(f"key{n}:poll", 5, 10)
    limiter.check("busy:submit", 1, 3600)
    assert len(limiter) == 101

    clock.now += MemoryRateLimiter.SWEEP_INTERVAL + 1
    limiter.check("new:poll", 5, 10)

    assert len(limiter) == 2  # the hour-long bucket has not refilled yet and is kept
    with pytest.raises(RateLimited):
        limiter.check("busy:submit", 1, 3600)


def test_threads_share_one_budget(limiter: MemoryRateLimiter) -> None:
    admitted: list[int] = []
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait()
        for _ in range(100):
            try:
                limiter.check("k:submit", 50, 60)
                admitted.append(1)
            except RateLimited:
                pass

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(admitted) == 50


def test_nonsense_limits_are_refused(limiter: MemoryRateLimiter) -> None:
    with pytest.raises(ValueError):
        limiter.check("k", 0, 10)


# --- shared in Redis ------------------------------------------------------------------------

def test_redis_buckets_are_shared_by_every_limiter(redis_url: str) -> None:
    """Two limiters (two server processes) draw on one bucket: the rate holds for both."""
    bucket = f"test-{secrets.token_hex(4)}:submit"
    results = []

    async def run() -> None:
        first, second = RedisRateLimiter(redis_url), RedisRateLimiter(redis_url)
        try:
            for limiter in (first, second, first, second, first):
                try:
                    await limiter.take(bucket, 3, 60)
                    results.append("ok")
                except RateLimited as exc:
                    results.append(f"429 {exc.retry_after}")
        finally:
            await first.aclose()
            await second.aclose()

    asyncio.run(run())
    assert results[:3] == ["ok", "ok", "ok"]
    assert results[3:] == ["429 20", "429 20"]  # one token every 60/3 s


def test_without_redis_requests_are_limited_per_process_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def run(url: str, proc: Any) -> list[str]:
        limiter = RedisRateLimiter(url)
        seen = []
        try:
            await limiter.take("k:poll", 2, 10)
            proc.kill()
            proc.wait()
            for _ in range(3):  # Redis is gone: the process's own buckets answer, no error
                try:
                    await limiter.take("k:poll", 2, 10)
                    seen.append("ok")
                except RateLimited:
                    seen.append("429")
        finally:
            await limiter.aclose()
        return seen

    with caplog.at_level(logging.WARNING), throwaway_redis() as (url, proc):
        seen = asyncio.run(run(url, proc))
    assert seen == ["ok", "ok", "429"]
    assert any("limiting per process" in record.getMessage() for record in caplog.records)
