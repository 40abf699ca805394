"""`rmmbridge sync <integration>`: import customers, sites, users and assets from an RMM now, under its lock."""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.integrator import locks
from rmmbridge.integrator.runs import close_dead_sync_runs, sync_lock_name
from rmmbridge.sync.models import SyncRun, SyncStatus
from rmmbridge.sync.plan import ENTITIES

COUNT_KEYS = ("created", "updated", "unchanged", "linked", "deactivated", "reactivated", "conflicts", "errors")


def run_summary(run: SyncRun) -> dict[str, Any]:
    """The --json object: status and counts per entity."""
    counts = {entity: {key: int((run.counts.get(entity) or {}).get(key, 0)) for key in COUNT_KEYS}
              for entity in run.entities}
    return {"status": run.status, "counts": counts}


class Command(BaseCommand):
    help = "Sync an integration now: import customers, sites, users and assets (--dry-run to preview)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("integration", help="Integration name or id.")
        parser.add_argument("--entities", default="",
                            help=f"Comma-separated subset of {','.join(ENTITIES)} (default: all).")
        parser.add_argument("--dry-run", action="store_true", help="Plan only; store the preview, write nothing.")
        parser.add_argument("--yes", action="store_true",
                            help="Confirm a run that the mass-deactivation guard would stop.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object {status, counts}.")

    def handle(self, *args: Any, **options: Any) -> None:
        from rmmbridge.integrator.management.commands.integration import find_integration
        from rmmbridge.sync.runner import parse_entities, run_sync

        integration = find_integration(options["integration"])
        try:
            entities = parse_entities(options["entities"].split(","))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        as_json = options["json"]
        progress_bar = None
        callback = None
        if not as_json and sys.stdout.isatty():
            from rich.progress import Progress

            progress_bar = Progress(transient=True)
            tasks: dict[str, Any] = {}

            def callback(stage: str, done: int, total: int) -> None:
                key = stage.split(" (")[0]  # "audits (~14 min left)": one bar per step, its text updated
                if key not in tasks:
                    tasks[key] = progress_bar.add_task(stage, total=total or None)
                progress_bar.update(tasks[key], completed=done, total=total or None, description=stage)

            progress_bar.start()
        error: ConnectorError | None = None
        try:
            # The same lock the integrator's sync jobs take: a CLI sync never overlaps a scheduled one.
            with locks.hold(sync_lock_name(integration.pk)):
                close_dead_sync_runs(integration_id=integration.pk, lock_held_by_caller=True)
                run = run_sync(integration.pk, entities=entities, trigger="cli", actor_label="cli",
                               dry_run=options["dry_run"], confirm=options["yes"], progress=callback)
        except locks.LockBusy:
            raise CommandError(
                f"A sync of '{integration.name}' is running right now (an integrator job or another CLI run); "
                "run this again when it has finished (see the Operations page, /ops/)."
            ) from None
        except ConnectorError as exc:
            error = exc
            run = SyncRun.objects.filter(integration=integration).order_by("-id").first()  # type: ignore[assignment]
        finally:
            if progress_bar is not None:
                progress_bar.stop()
        summary = run_summary(run)
        if as_json:
            self.stdout.write(json.dumps(summary))
        else:
            self._print(run, summary)
        if error is not None:
            raise CommandError(f"Sync failed: {error.message}", returncode=1)
        if run.status == SyncStatus.NEEDS_CONFIRMATION:
            if not as_json:
                self.stderr.write("The mass-deactivation guard stopped this run; run again with --yes to confirm.")
            raise SystemExit(2)
        if run.status == SyncStatus.FAILED:
            raise CommandError(f"Sync failed: {run.message}", returncode=1)

    def _print(self, run: SyncRun, summary: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Sync #{run.pk} of {run.integration.name}: {run.get_status_display()}")
        table.add_column("entity")
        for key in COUNT_KEYS:
            table.add_column(key, justify="right")
        for entity, counts in summary["counts"].items():
            table.add_row(entity, *(str(counts[k]) for k in COUNT_KEYS))
        console = Console(file=self.stdout, width=120)  # type: ignore[arg-type]
        console.print(table)
        for line in [*run.warnings, *run.errors[:20]]:
            self.stdout.write(f"  - {line}")
        if run.message:
            self.stdout.write(run.message)
        if run.dry_run:
            self.stdout.write(f"Dry run: nothing was written. Open /sync/runs/{run.pk}/ to review and apply it.")
