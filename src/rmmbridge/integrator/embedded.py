"""Embedded mode: an in-process scheduler thread and worker threads started by `rmmbridge serve`."""

from __future__ import annotations

import logging
import os
import queue
import threading
from datetime import timedelta

from django.db import close_old_connections, connection

from rmmbridge.integrator.execution import execute_job
from rmmbridge.integrator.planning import recover_lost
from rmmbridge.integrator.tick import tick

logger = logging.getLogger(__name__)

_queue: queue.Queue[int] = queue.Queue()
_threads: list[threading.Thread] = []
_stop = threading.Event()
_started = threading.Lock()


def tick_seconds() -> float:
    """Seconds between scheduler ticks (RMMBRIDGE_SCHEDULER_TICK, default 60)."""
    return float(os.environ.get("RMMBRIDGE_SCHEDULER_TICK", "60"))


def worker_count() -> int:
    """Worker threads in embedded mode (RMMBRIDGE_EMBEDDED_WORKERS, default 2)."""
    return max(1, int(os.environ.get("RMMBRIDGE_EMBEDDED_WORKERS", "2")))


def submit(job_id: int) -> None:
    """Queue a job for the in-process workers."""
    _queue.put(job_id)


def queue_depth() -> int:
    """Jobs waiting in this process's queue."""
    return _queue.qsize()


def is_running() -> bool:
    return any(thread.is_alive() for thread in _threads)


def _scheduler_loop() -> None:
    first = True
    while not _stop.is_set():
        try:
            if first:  # jobs queued in memory by a previous process were lost with it: send them again
                for job in recover_lost(queued_after=timedelta(0)):
                    submit(job.pk)
                first = False
            result = tick(dispatch=submit)
            if result.job_ids:
                logger.info("Integrator tick queued jobs %s", result.job_ids)
        except Exception:
            logger.exception("Integrator tick failed; trying again next tick")
        finally:
            close_old_connections()
        _stop.wait(tick_seconds())
    connection.close()


def _worker_loop() -> None:
    while not _stop.is_set():
        try:
            job_id = _queue.get(timeout=1)
        except queue.Empty:
            continue
        try:
            close_old_connections()
            execute_job(job_id)
        except Exception:
            logger.exception("Embedded worker failed on job %s", job_id)
        finally:
            close_old_connections()
            _queue.task_done()
    connection.close()


def start(*, scheduler: bool = True, workers: int | None = None) -> None:
    """Start the scheduler and worker threads once per process (daemon threads)."""
    with _started:
        if is_running():
            return
        _stop.clear()
        _threads.clear()
        for number in range(workers or worker_count()):
            _threads.append(threading.Thread(target=_worker_loop, name=f"integrator-worker-{number}", daemon=True))
        if scheduler:
            _threads.append(threading.Thread(target=_scheduler_loop, name="integrator-scheduler", daemon=True))
        for thread in _threads:
            thread.start()
    logger.info("Embedded integrator started: %d worker thread(s), tick every %.0f s", workers or worker_count(),
                tick_seconds())


def stop(timeout: float = 10) -> None:
    """Stop the threads (tests and clean shutdown)."""
    _stop.set()
    for thread in _threads:
        thread.join(timeout=timeout)
    _threads.clear()


def wait_idle(timeout: float = 30) -> bool:
    """Block until the in-process queue is drained (tests)."""
    done = threading.Event()

    def _join() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=_join, daemon=True).start()
    return done.wait(timeout)
