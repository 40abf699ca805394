"""`rmmbridge ticket`: list tickets and close one from the command line."""

from __future__ import annotations

import getpass
import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.choices import OPEN_STATUSES, TicketStatus
from rmmbridge.tickets.models import Ticket

STATUS_FILTERS = [*TicketStatus.values, "active", "all"]
COLUMNS = ("id", "summary", "status", "customer", "asset", "alert_key")


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(text)
    return value


positive_int.__name__ = "positive whole number"  # argparse names the type in its error message


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    """The JSON form of a ticket as `ticket list --json` prints it."""
    assets = [str(a) for a in ticket.assets.all()]
    return {
        "id": ticket.pk,
        "summary": ticket.summary,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.ticket_type.name,
        "customer": ticket.customer.name,
        "site": ticket.site.name if ticket.site else None,
        "asset": assets[0] if assets else None,
        "assets": assets,
        "alert_key": ticket.alert_key,
        "source": ticket.source,
        "occurrences": ticket.occurrences,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
    }


def _operator() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


class Command(BaseCommand):
    help = "List tickets (ticket list) or close one with a note (ticket close ID --note TEXT)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="{list,close}")
        sub.required = True
        listing = sub.add_parser("list", help="List tickets, newest first.")
        listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        listing.add_argument("--status", choices=STATUS_FILTERS, default="all",
                             help="Only tickets in this status ('active' = not closed). Default: all.")
        listing.add_argument("--limit", type=positive_int, default=50, help="At most this many tickets (default 50).")
        closing = sub.add_parser("close", help="Close a ticket (the RMM alert is resolved where the vendor allows).")
        closing.add_argument("id", help="The ticket number (as shown by `ticket list`).")
        closing.add_argument("--note", default="", help="Closing note added to the ticket's history.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "list":
            self._list(options)
        else:
            self._close(options["id"], options["note"])

    def _queryset(self, status: str, limit: int) -> QuerySet[Ticket]:
        tickets = Ticket.objects.select_related("customer", "ticket_type", "site").prefetch_related("assets")
        if status == "active":
            tickets = tickets.filter(status__in=OPEN_STATUSES)
        elif status != "all":
            tickets = tickets.filter(status=status)
        return tickets.order_by("-id")[:limit]

    def _list(self, options: dict[str, Any]) -> None:
        rows = [ticket_row(t) for t in self._queryset(options["status"], options["limit"])]
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        if not rows:
            self.stdout.write("No tickets.")
            return
        if self.stdout.isatty():
            self._rich_table(rows)
            return
        widths = {c: max(len(c), *(len(str(r[c] or "")) for r in rows)) for c in COLUMNS}
        widths["summary"] = min(widths["summary"], 60)
        self.stdout.write("  ".join(c.upper().ljust(widths[c]) for c in COLUMNS).rstrip())
        for row in rows:
            cells = []
            for column in COLUMNS:
                text = str(row[column] or "")
                if len(text) > widths[column]:
                    text = text[: widths[column] - 1] + "…"
                cells.append(text.ljust(widths[column]))
            self.stdout.write("  ".join(cells).rstrip())

    def _rich_table(self, rows: list[dict[str, Any]]) -> None:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"Tickets ({len(rows)})")
        for column in ("#", "Summary", "Status", "Customer", "Asset", "Alert key"):
            table.add_column(column, overflow="fold")
        colours = {"new": "yellow", "open": "cyan", "on_hold": "magenta", "closed": "green"}
        for row in rows:
            status = f"[{colours.get(row['status'], 'white')}]{row['status']}[/]"
            table.add_row(str(row["id"]), row["summary"], status, row["customer"], row["asset"] or "-",
                          row["alert_key"] or "-")
        Console().print(table)

    def _close(self, raw_id: str, note: str) -> None:
        number = raw_id.strip().lstrip("#")
        if not number.isdigit():
            raise CommandError(f"'{raw_id}' is not a ticket number; give the number shown by `rmmbridge ticket list`.")
        ticket = Ticket.objects.filter(pk=int(number)).first()
        if ticket is None:
            raise CommandError(f"Ticket #{number} does not exist; `rmmbridge ticket list` shows the ticket numbers.")
        try:
            do_close_ticket(Actor.cli(_operator()), ticket, note=note)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Closed ticket #{ticket.pk}: {ticket.summary}"))
