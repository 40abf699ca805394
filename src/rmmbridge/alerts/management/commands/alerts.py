"""`rmmbridge alerts …`: poll an integration's alerts, deliver the resolve outbox, switch alerting on."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.integrations.models import Integration


def find_integration(value: str) -> Integration:
    """An integration by id or name, or a CommandError listing what exists."""
    found = Integration.objects.filter(pk=int(value)).first() if value.isdigit() else None
    found = found or Integration.objects.filter(name__iexact=value).first()
    if found is None:
        names = ", ".join(f"{i.pk}: {i.name}" for i in Integration.objects.all()[:20]) or "none configured"
        raise CommandError(f"No integration '{value}'. Known integrations: {names}.")
    return found


class Command(BaseCommand):
    help = "Alerts: poll an integration, deliver due resolves to the RMMs, switch alerting on, reprocess events."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        poll = sub.add_parser("poll", help="Poll open and recently resolved alerts of an integration now.")
        poll.add_argument("integration", help="Integration id or name.")
        poll.add_argument("--json", action="store_true", help="Print the result as JSON.")
        deliver = sub.add_parser("deliver", help="Send due resolves from the outbox to the RMMs (once).")
        deliver.add_argument("--limit", type=int, default=100, help="At most this many (default 100).")
        enable = sub.add_parser("enable", help="Switch alerting on for an integration and create its e-mail rule.")
        enable.add_argument("integration", help="Integration id or name.")
        enable.add_argument("--from-address", default="", help="Sender address of the RMM's alert e-mails.")
        enable.add_argument("--ticket-type", default="", help="Ticket type for new alerts (name).")
        sub.add_parser("process-pending", help="Drain the mail spool, then process events stored but not yet "
                                               "processed (after a crash).")
        sub.add_parser("rotate-keys", help="Re-encrypt webhook secrets and mailbox passwords with the newest key.")

    def handle(self, *args: Any, **options: Any) -> None:
        sub = options["sub"]
        if sub == "poll":
            from rmmbridge.alerts.polling import poll_alerts

            integration = find_integration(options["integration"])
            result = poll_alerts(int(integration.pk), trigger="cli")
            if options["json"]:
                self.stdout.write(json.dumps(result.as_dict(), indent=2))
            else:
                self.stdout.write(result.message)
            if not result.ok:
                raise CommandError(result.message)
        elif sub == "deliver":
            from rmmbridge.alerts.models import OutboxStatus, ResolveOutbox
            from rmmbridge.alerts.outbox import deliver_due

            sent = deliver_due(limit=options["limit"])
            waiting = ResolveOutbox.objects.filter(status=OutboxStatus.PENDING).count()
            self.stdout.write(f"Delivered {sent} resolve(s); {waiting} still pending.")
        elif sub == "enable":
            from rmmbridge.alerts.setup import enable_alerting, vendor_channels
            from rmmbridge.tickets.models import TicketType

            integration = find_integration(options["integration"])
            ticket_type = None
            if options["ticket_type"]:
                ticket_type = TicketType.objects.filter(name__iexact=options["ticket_type"]).first()
                if ticket_type is None:
                    raise CommandError(f"No ticket type '{options['ticket_type']}'.")
            config = enable_alerting(integration, ticket_type=ticket_type, from_address=options["from_address"])
            self.stdout.write(f"Alerting on for {integration.name}; webhook token {config.webhook_token}.")
            channels = vendor_channels(integration.vendor)
            resolves = "resolves" if channels.resolve else "cannot resolve"
            self.stdout.write(f"Channels: {', '.join(channels.labels) or 'none'}; closing a ticket {resolves} the "
                              "alert in the RMM.")
            if channels.note:
                self.stdout.write(channels.note)
        elif sub == "rotate-keys":
            from django.core.exceptions import ValidationError

            from rmmbridge.alerts.secrets import rotate_alert_secrets

            try:
                count = rotate_alert_secrets()
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from exc
            self.stdout.write(f"Re-encrypted {count} alerting secret(s) with the newest key.")
        else:
            from rmmbridge.alerts.intake.spool import drain
            from rmmbridge.alerts.processing import process_pending

            drained = drain(process=False)
            if drained.stored or drained.failed or drained.deferred:
                self.stdout.write(drained.message)
            outcomes = process_pending()
            self.stdout.write(f"Processed {len(outcomes)} pending event(s).")
