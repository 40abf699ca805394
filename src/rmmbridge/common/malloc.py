"""The C allocator kept lean during bulk work: large blocks mapped on their own, free memory handed back (glibc)."""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Callable

#: glibc's mallopt parameter for the size from which a block is its own mapping (returned to the system on free).
M_MMAP_THRESHOLD = -3
#: The threshold kept: glibc's own starting value. Left dynamic, glibc raises it to the largest block freed so far
#: (a 390 KB page of devices), after which every such block comes from the heap, which a long sync fragments.
MMAP_THRESHOLD = 128 * 1024
#: Seconds between two hand-backs of free memory while bulk work runs (see Trimmer).
TRIM_EVERY = 0.5

_lock = threading.Lock()
_state: list[bool] = []


def keep_large_blocks_mapped() -> bool:
    """Fix glibc's mmap threshold for this process (once; later calls repeat the first's answer).

    True when it was set; False where the C library has no `mallopt` or refuses it (macOS, musl), which changes
    nothing else.
    """
    with _lock:
        if not _state:
            _state.append(_set_threshold())
        return _state[0]


def _set_threshold() -> bool:
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = (ctypes.c_size_t,)
    trim.restype = ctypes.c_int
    return trim


class Trimmer:
    """A daemon thread that asks glibc every `every` seconds to hand the free pages of its heaps back to the
    system (`malloc_trim(0)`, which also releases whole free pages inside a heap, not only at its top).

    A long sync frees as much as it allocates, but the freed pages stay in the process: a 100k-device first sync's
    RSS crept up by ~10 MB more than a 10k one's. The call runs without the GIL (ctypes lets it go), on the
    machine's other core, and takes ~0.6 ms on a 130 MB process. Does nothing where the C library has no
    `malloc_trim` (macOS, musl)."""

    def __init__(self, every: float = TRIM_EVERY) -> None:
        self.every = every
        self.trims = 0
        self._trim = _malloc_trim()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def available(self) -> bool:
        return self._trim is not None

    def start(self) -> None:
        if self._trim is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="rmmbridge-malloc-trim", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread (after one last hand-back) and wait for it."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
            self._stop.clear()

    def _loop(self) -> None:
        trim = self._trim
        assert trim is not None
        while not self._stop.wait(self.every):
            trim(0)
            self.trims += 1
        trim(0)
        self.trims += 1
