"""`rmmbridge import_assets FILE`: preview (default) or apply an asset spreadsheet."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.spreadsheets.apply import apply_sheet
from rmmbridge.spreadsheets.plan import build_plan
from rmmbridge.spreadsheets.reader import SpreadsheetError, read_sheet
from rmmbridge.spreadsheets.services import default_decimal_separator


class Command(BaseCommand):
    help = "Import assets from a CSV/XLSX spreadsheet ($CF<name> columns for custom fields); preview unless --apply."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path of a .csv, .xlsx, .xls or .ods file.")
        parser.add_argument("--apply", action="store_true", help="Write the changes (default: preview only).")
        parser.add_argument("--json", action="store_true", help="Print the plan (and result) as one JSON object.")
        parser.add_argument("--decimal-separator", choices=[".", ","], default=None,
                            help="How numbers written as text are read (default: RMMBRIDGE_DECIMAL_SEPARATOR or '.').")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            sheet = read_sheet(path.name, path.read_bytes(),
                               options["decimal_separator"] or default_decimal_separator())
        except FileNotFoundError:
            raise CommandError(f"No such file: {path}") from None
        except SpreadsheetError as exc:
            raise CommandError(str(exc)) from None
        if options["apply"]:
            plan, result = apply_sheet(sheet, Actor.cli(f"cli:{path.name}"))
            output: dict[str, Any] = {"plan": plan.as_json(), "result": result.as_json()}
        else:
            plan = build_plan(sheet)
            output = {"plan": plan.as_json()}
        if options["json"]:
            self.stdout.write(json.dumps(output, default=str))
        else:
            self._print(output)
        if plan.counts["error"] and not options["apply"]:
            raise SystemExit(1)

    def _print(self, output: dict[str, Any]) -> None:
        from rich.console import Console
        from rich.table import Table

        console = Console(file=cast(IO[str], self.stdout._out), width=140)
        plan = output["plan"]
        if plan.get("encoding"):
            console.print(f"Read as {plan['encoding']} text; decimal separator '{plan['decimal_separator']}'.")
        for warning in plan["warnings"]:
            console.print(f"[yellow]warning:[/] {warning}")
        table = Table("Row", "Asset", "Action", "Why", "Changes / errors")
        for row in plan["rows"]:
            changes = ", ".join(f"{k}: {v[0]!s} → {v[1]!s}" for k, v in row["changes"].items())
            detail = "; ".join(row["errors"]) or changes
            table.add_row(str(row["row"]), row["label"], row["action"], row["reason"], detail)
        console.print(table)
        console.print("Plan: " + ", ".join(f"{k} {v}" for k, v in plan["counts"].items()))
        if "result" in output:
            result = output["result"]
            console.print(f"Applied: created {result['created']}, updated {result['updated']}, "
                          f"unchanged {result['unchanged']}, rows with errors {len(result['errors'])}")
