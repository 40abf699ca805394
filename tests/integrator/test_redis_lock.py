"""The Redis lock of distributed mode: exclusive, token-safe, expiring, renewed while held, one holder at a time."""

from __future__ import annotations

import threading
import time

import pytest
from tests.conftest import require_service
from tests.integrator.distributed import REDIS_URL, RUN_ID, flush_redis, redis_available

from rmmbridge.integrator.locks import HeldLock, LockBusy, RedisLock, hold

pytestmark = pytest.mark.redis


@pytest.fixture(autouse=True)
def redis_db(monkeypatch: pytest.MonkeyPatch) -> None:
    require_service(redis_available(), "Redis at 127.0.0.1:6379")
    monkeypatch.setenv("RMMBRIDGE_REDIS_PREFIX", f"rmmbridge-{RUN_ID}")
    flush_redis()


def test_exclusive_expiring_and_released_only_by_its_token() -> None:
    first = RedisLock("integration:1:sync", ttl=0.5, url=REDIS_URL)
    second = RedisLock("integration:1:sync", ttl=0.5, url=REDIS_URL)
    assert first.acquire()
    assert not second.acquire()
    second.release()  # a stranger's release does nothing
    assert first.is_held_by_anyone()
    time.sleep(0.7)  # the holder died without releasing: the lock expires
    assert second.acquire()
    assert not first.renew(), "the old holder learns it lost the lock"
    first.release()
    assert second.is_held_by_anyone()
    second.release()
    assert not second.is_held_by_anyone()


def test_renewal_keeps_a_long_job_locked_past_the_ttl() -> None:
    lock = RedisLock("integration:2:sync", ttl=0.6, url=REDIS_URL)
    assert lock.acquire()
    held = HeldLock(lock, 0.6)
    held.start()
    try:
        time.sleep(1.5)
        assert not RedisLock("integration:2:sync", ttl=0.6, url=REDIS_URL).acquire()
        assert not held.lost
    finally:
        held.stop()
        lock.release()
    assert RedisLock("integration:2:sync", url=REDIS_URL).acquire()


def test_one_holder_at_a_time_under_concurrent_triggers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_LOCK_BACKEND", "redis")
    monkeypatch.setattr("django.conf.settings.REDIS_URL", REDIS_URL)
    inside = 0
    most = 0
    wins = 0
    busy = 0
    guard = threading.Lock()
    start = threading.Barrier(8)

    def contender() -> None:
        nonlocal inside, most, wins, busy
        start.wait()
        for _ in range(20):
            try:
                with hold("integration:3:sync", ttl=5):
                    with guard:
                        inside += 1
                        most = max(most, inside)
                        wins += 1
                    time.sleep(0.005)
                    with guard:
                        inside -= 1
            except LockBusy:
                with guard:
                    busy += 1

    threads = [threading.Thread(target=contender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most == 1
    assert wins > 0
    assert busy > 0
    assert wins + busy == 160
