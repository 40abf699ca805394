"""`rmmbridge worker`: a Celery worker running integrator jobs (distributed mode)."""

from __future__ import annotations

import os
import socket
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker for scheduled syncs, alert polls and resolves (distributed mode)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", "-c", type=int, default=None,
                            help="Worker processes (default: the number of CPUs).")
        parser.add_argument("--loglevel", "-l", default="INFO", help="Celery log level (default INFO).")
        parser.add_argument("--name", "-n", default=None, help="Worker node name (default rmmbridge-<pid>@<host>).")
        parser.add_argument("--pool", default="prefork", help="Celery pool: prefork (default), threads or solo.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.RUN_MODE != "distributed":
            raise CommandError(
                "`rmmbridge worker` is for distributed mode: set RMMBRIDGE_MODE=distributed (with DATABASE_URL and "
                "RMMBRIDGE_BROKER_URL). In embedded mode `rmmbridge serve` runs the scheduler and workers itself."
            )
        from rmmbridge.celery import QUEUE, app

        name = options["name"] or f"rmmbridge-{os.getpid()}@{socket.gethostname()}"
        argv = ["worker", "-Q", QUEUE, "-n", name, "-l", options["loglevel"], "--pool", options["pool"],
                "--without-gossip", "--without-mingle"]
        if options["concurrency"]:
            argv += ["--concurrency", str(options["concurrency"])]
        self.stdout.write(f"Celery worker {name} on queue {QUEUE} (broker {_safe(app.conf.broker_url)})")
        app.worker_main(argv)


def _safe(url: str) -> str:
    """The broker URL without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"
    return url
