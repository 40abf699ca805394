"""`rmmbridge health`: integration-health problems; check now; set a channel's expected gap by hand."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import integration_health
from rmmbridge.integrator.actions import HEALTH_CHANNELS, do_set_expected_gap
from rmmbridge.servicedesk.actions import Actor


class Command(BaseCommand):
    help = "Show integration-health problems; --check evaluates now (and notifies); --expect-gap sets a silence limit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the open problems as JSON.")
        parser.add_argument("--check", action="store_true", help="Evaluate now and send the notifications due.")
        parser.add_argument("--expect-gap", nargs=3, metavar=("INTEGRATION", "CHANNEL", "MINUTES"),
                            help=f"Longest silence expected of a channel ({', '.join(HEALTH_CHANNELS)}) of an "
                                 "integration (id or name); 0 goes back to learning it from the last 14 days.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["expect_gap"]:
            ref, channel, minutes = options["expect_gap"]
            integration = (Integration.objects.filter(pk=int(ref)).first() if ref.isdigit()
                           else Integration.objects.filter(name=ref).first())
            if integration is None:
                raise CommandError(f"No integration {ref!r}; `rmmbridge integration list` shows ids and names.")
            try:
                value = do_set_expected_gap(Actor.cli("rmmbridge health"), integration, channel, minutes)
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"{integration.name} {channel}: expected gap "
                              + (f"{value} min (set by hand)." if value else "learnt from the last 14 days."))
        if options["check"]:
            run = integration_health.evaluate_and_notify()
            self.stdout.write(f"Checked: {len(run.open)} open, {len(run.opened)} opened, {len(run.recovered)} "
                              f"recovered, {len(run.sent)} notification(s) sent.")
            for error in run.errors:
                self.stderr.write(f"Notification failed: {error}")
        problems = integration_health.open_problems()
        if options["json"]:
            self.stdout.write(integration_health.dumps(problems))
            return
        if not problems:
            self.stdout.write("No integration-health problems.")
        for problem in problems:
            self.stdout.write(f"- {problem.title} (since {problem.opened_at[:16]}): {problem.evidence}"
                              + (f" Fix: {problem.fix_url}" if problem.fix_url else ""))
