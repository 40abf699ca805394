"""`rmmbridge status`: integrations with last and next runs, outbox backlog, queue depth and health problems."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rmmbridge.integrator.status import collect, healthy


class Command(BaseCommand):
    help = "Show integrations with their last and next runs, the outbox backlog, the queue depth and health problems."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")

    def handle(self, *args: Any, **options: Any) -> None:
        current = collect(checks=True)
        if options["json"]:
            self.stdout.write(json.dumps(current.as_dict(), indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console(file=self.stdout, width=160)  # type: ignore[arg-type]
        ok = healthy(current.checks)
        console.print(f"Mode: {current.mode}   Health: {'ok' if ok else 'NOT HEALTHY'}   "
                      + "   ".join(f"{k}: {v}" for k, v in current.checks.items()))
        console.print(f"Jobs queued: {current.queued_jobs}   running: {current.running_jobs}   "
                      f"waiting to retry: {current.deferred_jobs}   queue depth: {_dash(current.queue_depth)}   "
                      f"outbox backlog: {_dash(current.outbox_backlog)}")
        table = Table("Id", "Integration", "Vendor", "Status", "Integrator", "State", "Last run", "Next run",
                      "Last error")
        for row in current.integrations:
            table.add_row(str(row.id), row.name, row.vendor, row.status, "on" if row.integrator else "off", row.state,
                          f"{row.last_run_at or 'never'} {row.last_status}".strip(), row.next_run_at or "—",
                          row.last_error[:80])
        console.print(table)
        if current.problems:
            problems = Table("Problem", "Since", "Evidence", "Fix", title="Integration health problems")
            for problem in current.problems:
                problems.add_row(problem["title"], problem["opened_at"][:16], problem["evidence"], problem["fix_url"])
            console.print(problems)
        else:
            console.print("Integration health: no problems.")
        broken = [c for c in current.channels if c["state"] in {"broken", "silent"}]
        for channel in broken:
            console.print(f"Channel {channel['channel']} of {channel['integration']}: {channel['state']}")


def _dash(value: int | None) -> str:
    return "—" if value is None else str(value)
