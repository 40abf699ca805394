"""The client-side rolling-window limiter, with an injected clock."""

from __future__ import annotations

import threading

import pytest

from rmmbridge.connectors.ratelimit import RollingWindowLimiter, shared_limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_waits_until_the_oldest_request_leaves_the_window() -> None:
    clock = FakeClock()
    limiter = RollingWindowLimiter(3, 60.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        assert limiter.acquire() == 0.0
        clock.now += 1
    waited = limiter.acquire()  # 4th request: the first (t=1000) leaves the window at t=1060
    assert waited == pytest.approx(57.0)
    assert clock.now == pytest.approx(1060.0)
    assert limiter.in_window() == 3


def test_600_per_minute_never_exceeded() -> None:
    clock = FakeClock()
    limiter = RollingWindowLimiter(600, 60.0, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(1500):
        limiter.acquire()
        stamps.append(clock.now)
        clock.now += 0.01
    for i, t in enumerate(stamps):
        assert sum(1 for s in stamps[i:i + 601] if s - t < 60.0) <= 600


def test_threads_share_the_budget() -> None:
    limiter = RollingWindowLimiter(50, 60.0)
    threads = [threading.Thread(target=lambda: [limiter.acquire() for _ in range(10)]) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert limiter.in_window() == 50


def test_invalid_limit_and_shared_limiters() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RollingWindowLimiter(0)
    a = shared_limiter(("v", "https://one"), 600)
    assert shared_limiter(("v", "https://one"), 600) is a
    assert shared_limiter(("v", "https://two"), 600) is not a
