"""Prefetched: read an iterator in a background thread, a few chunks ahead, so its I/O overlaps the caller's work."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import Generic, TypeVar

T = TypeVar("T")


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Prefetched(Generic[T]):
    """The items of `items`, read by a worker thread that starts at once and stays up to `depth` chunks ahead.

    Meant for a paged HTTP stream consumed by CPU work: while the caller works on one page, the next requests are
    already on the wire. An error raised by `items` is raised to the consumer after the items read before it.
    `close()` (or leaving the `with` block, or the end of iteration) stops the worker after its current item and
    closes `items`. Memory is bounded by depth × chunk items. Iterate it once.
    """

    def __init__(self, items: Iterable[T], *, chunk: int = 250, depth: int = 16, name: str = "prefetch") -> None:
        self._items = items
        self._chunk = max(chunk, 1)
        self._buffer: queue.Queue[list[T] | _Failed | None] = queue.Queue(maxsize=max(depth, 1))  # None: the end
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._work, name=name, daemon=True)
        self._worker.start()

    def _put(self, value: list[T] | _Failed | None) -> bool:
        while not self._stop.is_set():
            try:
                self._buffer.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        source = iter(self._items)
        batch: list[T] = []
        try:
            for item in source:
                batch.append(item)
                if len(batch) >= self._chunk:
                    if not self._put(batch):
                        return
                    batch = []
                if self._stop.is_set():
                    return
            if batch and not self._put(batch):
                return
            self._put(None)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            if not batch or self._put(batch):
                self._put(_Failed(exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    def __iter__(self) -> Iterator[T]:
        try:
            while True:
                got = self._buffer.get()
                if got is None:
                    return
                if isinstance(got, _Failed):
                    raise got.error
                yield from got
        finally:
            self.close()

    def close(self) -> None:
        """Stop the worker and wait for it (at most until its current item arrives)."""
        self._stop.set()
        if self._worker is not threading.current_thread():
            self._worker.join()

    def __enter__(self) -> Prefetched[T]:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
