"""`rmmbridge demo`: init, a realistic sample service desk (and emulated RMMs), then serve."""

from __future__ import annotations

import importlib
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser

from rmmbridge.servicedesk.management.commands.init import ensure_initialised

# Each module has `run(out) -> None`; they run in this order and must be safe to run again.
DEMO_STEPS: list[str] = [
    "rmmbridge.servicedesk.demo",
    "rmmbridge.sync.demo",  # emulated Datto RMM and NinjaOne, their integrations and the first sync
    "rmmbridge.tickets.demo",
    "rmmbridge.alerts.demo",
    "rmmbridge.integrator.demo",  # keep last: switches the integrator on for the demo integrations
]

DEMO_USER = "demo"


class Command(BaseCommand):
    help = "Set up a demo service desk with sample data and emulated RMMs, then serve it (--no-serve to exit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then exit 0.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to serve on (default 127.0.0.1).")
        parser.add_argument("--port", type=int, default=8000, help="Port to serve on (default 8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_initialised(self.stdout)
        for dotted in DEMO_STEPS:
            importlib.import_module(dotted).run(self.stdout)
        password = secrets.token_urlsafe(9)
        user_model = get_user_model()
        user, _ = user_model.objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True}
        )
        user.set_password(password)
        user.save()
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  URL:      {url}")
        self.stdout.write(f"  Login:    {DEMO_USER} / {password}   (a new password on every demo run)")
        if options["no_serve"]:
            return
        from rmmbridge.web.management.commands.serve import serve

        self.stdout.write("Serving; press Ctrl+C to stop.")
        serve(options["host"], options["port"])
