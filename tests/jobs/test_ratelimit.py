"""Token buckets: bursts, refill, Retry-After, independence, bounded memory."""

from __future__ import annotations

import threading

import pytest

from fitroom.errors import RateLimited
from fitroom.jobs.ratelimit import MemoryRateLimiter


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
