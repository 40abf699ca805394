"""The C allocator's threshold for large blocks fixed, so that freed buffers go back to the system (glibc)."""

from __future__ import annotations

import ctypes
import threading

#: glibc's mallopt parameter for the size from which a block is its own mapping (returned to the system on free).
M_MMAP_THRESHOLD = -3
#: The threshold kept: glibc's own starting value. Left dynamic, glibc raises it to the largest block freed so far
#: (a 390 KB page of devices), after which every such block comes from the heap, which a long sync fragments.
MMAP_THRESHOLD = 128 * 1024

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
