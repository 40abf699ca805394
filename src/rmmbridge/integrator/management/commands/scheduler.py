"""`rmmbridge scheduler`: ticks once a minute and enqueues due jobs on the Celery queue (distributed mode)."""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from rmmbridge.integrator import locks
from rmmbridge.integrator.dispatch import dispatch_job
from rmmbridge.integrator.tick import tick

SCHEDULER_LOCK = "scheduler"


class Command(BaseCommand):
    help = "Tick once a minute: enqueue due syncs, alert polls and resolves for the workers (run exactly one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=60.0, help="Seconds between ticks (default 60).")
        parser.add_argument("--once", action="store_true", help="Tick once and exit.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.RUN_MODE != "distributed":
            raise CommandError(
                "`rmmbridge scheduler` is for distributed mode: set RMMBRIDGE_MODE=distributed (with DATABASE_URL and "
                "RMMBRIDGE_BROKER_URL). In embedded mode `rmmbridge serve` runs the scheduler and workers itself."
            )
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        interval = max(0.2, float(options["interval"]))
        self.stdout.write(f"Scheduler ticking every {interval:g} s")
        while not stop.is_set():
            started = time.monotonic()
            self._tick_once()
            if options["once"]:
                return
            stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def _tick_once(self) -> None:
        try:
            # A second scheduler started by mistake waits instead of enqueueing the same jobs twice.
            with locks.hold(SCHEDULER_LOCK, ttl=120):
                result = tick(dispatch=dispatch_job)
            if result.job_ids:
                self.stdout.write(f"Enqueued jobs {result.job_ids}")
                self.stdout.flush()
        except locks.LockBusy:
            self.stdout.write("Another scheduler is ticking; skipped this tick")
        except Exception as exc:
            self.stderr.write(f"Tick failed: {exc}")
        finally:
            close_old_connections()
