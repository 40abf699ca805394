"""Prefetched reads ahead in a worker thread: same items in order, errors after the items before them, clean stops."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from rmmbridge.common.prefetch import Prefetched


class Source:
    """A generator-backed source that records which thread read it and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count = count
        self.fail_at = fail_at
        self.read = 0
        self.closed = threading.Event()
        self.threads: set[str] = set()

    def __iter__(self) -> Iterator[int]:
        return self._items()

    def _items(self) -> Iterator[int]:
        try:
            for number in range(self.count):
                if number == self.fail_at:
                    raise ConnectionError(f"page with item {number} failed")
                self.threads.add(threading.current_thread().name)
                self.read += 1
                yield number
        finally:
            self.closed.set()


def test_items_arrive_in_order_read_by_the_worker_thread() -> None:
    source = Source(1003)
    assert list(Prefetched(source, chunk=10, depth=2, name="reader")) == list(range(1003))
    assert source.threads == {"reader"}
    assert source.closed.is_set()


def test_an_error_is_raised_after_the_items_read_before_it() -> None:
    got: list[int] = []
    stream = iter(Prefetched(Source(100, fail_at=25), chunk=10, depth=4))
    got.extend(next(stream) for _ in range(25))
    with pytest.raises(ConnectionError, match="item 25 failed"):
        next(stream)
    assert got == list(range(25))


def test_stopping_early_stops_the_worker_and_closes_the_source() -> None:
    source = Source(1_000_000)
    stream = Prefetched(source, chunk=10, depth=2)
    for item in stream:
        if item == 5:
            break
    stream.close()
    assert source.closed.wait(5)
    assert source.read < 100  # bounded read-ahead: depth × chunk plus the chunk in hand


def test_closing_before_reading_stops_the_worker() -> None:
    source = Source(1_000_000)
    with Prefetched(source, chunk=10, depth=2):
        pass
    assert source.closed.wait(5)
    assert source.read <= 40
