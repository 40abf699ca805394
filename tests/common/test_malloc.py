"""Bulk work hands the C allocator's free memory back while it runs, from a thread that stops with it."""

from __future__ import annotations

import threading
import time

import pytest

from rmmbridge.common.gcpause import bulk_work
from rmmbridge.common.malloc import Trimmer


def _trimming() -> bool:
    return any(t.name == "rmmbridge-malloc-trim" and t.is_alive() for t in threading.enumerate())


def test_a_trimmer_trims_until_stopped_then_once_more_and_can_start_again() -> None:
    trimmer = Trimmer(every=0.01)
    if not trimmer.available:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    trimmer.start()
    deadline = time.monotonic() + 5
    while trimmer.trims < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    trimmer.stop()
    assert trimmer.trims >= 3
    assert not _trimming()
    stopped = trimmer.trims
    time.sleep(0.05)
    assert trimmer.trims == stopped
    trimmer.start()
    trimmer.stop()
    assert trimmer.trims == stopped + 1  # the last hand-back as it stops


def test_bulk_work_trims_while_the_outermost_block_runs() -> None:
    if not Trimmer().available:
        pytest.skip("this C library has no malloc_trim (not glibc)")
    assert not _trimming()
    with bulk_work():
        with bulk_work():
            assert _trimming()
        assert _trimming()  # the inner block's end leaves the outer one's thread
    assert not _trimming()
