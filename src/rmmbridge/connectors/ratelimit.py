"""Client-side rate limiting: a rolling-window limiter shared per vendor account, set to the published limit."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

_LIMITERS: dict[tuple[str, ...], RollingWindowLimiter] = {}
_LIMITERS_LOCK = threading.Lock()


class RollingWindowLimiter:
    """At most `limit` requests in any `window` seconds (e.g. Datto RMM: 600 per rolling 60 s).

    `acquire()` blocks until a slot is free. Thread-safe. The clock and sleep are injectable for tests.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"Rate limit must be at least 1 request per window; got {limit}.")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    def _prune(self, now: float) -> None:
        while self._stamps and now - self._stamps[0] >= self.window:
            self._stamps.popleft()

    def acquire(self) -> float:
        """Take one slot, waiting as long as needed; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                self._prune(now)
                if len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    self.waited_seconds += waited
                    return waited
                delay = self.window - (now - self._stamps[0])
            delay = max(delay, 0.001)
            self._sleep(delay)
            waited += delay

    def in_window(self) -> int:
        """Requests counted in the current window."""
        with self._lock:
            self._prune(self._clock())
            return len(self._stamps)


def shared_limiter(key: tuple[str, ...], per_minute: int) -> RollingWindowLimiter:
    """The process-wide limiter for one vendor account (vendors count requests per account, not per client)."""
    with _LIMITERS_LOCK:
        limiter = _LIMITERS.get(key)
        if limiter is None or limiter.limit != per_minute:
            limiter = RollingWindowLimiter(per_minute, 60.0)
            _LIMITERS[key] = limiter
        return limiter
