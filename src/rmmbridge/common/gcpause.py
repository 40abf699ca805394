"""Fewer garbage collections during bulk work: the objects alive before it frozen, a larger young generation."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Allocations between two young-generation collections during bulk work (CPython's default is 700): the objects
#: of a page of devices then mostly die young instead of being promoted and scanned again in every full collection.
BULK_THRESHOLD = 50_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] | None = None


@contextmanager
def bulk_work(threshold: int = BULK_THRESHOLD) -> Iterator[None]:
    """Within the block, the objects alive when it started (Django, the project, caches) are frozen out of the
    collector's scans and the young generation collects every `threshold` allocations; both are undone when the
    last of nested or concurrent blocks ends. Garbage cycles are still collected, only less often.

    Measured on the 100k-device Datto bench: the first sync spent 7.3 s of 67 s in 27 full collections.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(threshold, _saved[0]), *_saved[1:])
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                gc.unfreeze()
                _saved = None
