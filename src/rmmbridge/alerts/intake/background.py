"""Process stored events by id on one background thread per process, in arrival order (the mail intake's 202)."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

log = logging.getLogger(__name__)

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def _process(event_id: int) -> str:
    """Process one stored event; a failure leaves it pending for `rmmbridge alerts process-pending`."""
    from django.db import connections

    from rmmbridge.alerts.models import AlertEvent
    from rmmbridge.alerts.processing import process_event

    try:
        event = AlertEvent.objects.filter(pk=event_id).first()
        if event is None:
            return "gone"
        return process_event(event).status
    except Exception:
        log.exception("alert event %s stored but not processed; `rmmbridge alerts process-pending` retries it",
                      event_id)
        for conn in connections.all(initialized_only=True):
            if conn.connection is not None and not conn.is_usable():
                conn.close()
        return "pending"
    finally:
        executor = _executor
        if executor is None or executor._work_queue.empty():
            connections.close_all()  # idle: hold no database connection (this thread's only) until the next mail


def submit(event_id: int) -> Future[str]:
    """Queue a committed event for processing (only its id crosses the thread)."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts-intake")
        return _executor.submit(_process, event_id)
