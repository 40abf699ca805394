"""Demo step: alerting on for the demo integrations; an emulated alert becomes a ticket; closing it resolves it."""

from __future__ import annotations

from typing import Any

import httpx

from rmmbridge.alerts.models import AlertState, OutboxStatus, ResolveOutbox
from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.alerts.setup import enable_alerting
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import EndUser
from rmmbridge.tickets.actions import do_close_ticket
from rmmbridge.tickets.choices import OPEN_STATUSES
from rmmbridge.tickets.models import TicketType

#: Credential keys that hold an emulator's base URL, per vendor convention.
URL_KEYS = ("api_url", "instance_url", "base_url", "url")


def _emulator_url(integration: Integration) -> str | None:
    try:
        credentials = integration.get_credentials()
    except Exception:
        return None
    for key in URL_KEYS:
        value = str(credentials.get(key) or "")
        if value.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
            return value.rstrip("/")
    return None


def _control_base(url: str) -> str:
    """The emulator's root (the control API lives at /_emulator/ on the same host)."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}:{parsed.port}"


def run(out: Any) -> None:
    """Alerting on for each demo integration; raise, poll, close and resolve one alert on each emulator."""
    ticket_type = TicketType.objects.filter(name__iexact="RMM Alert").first()
    fallback = EndUser.objects.order_by("id").first()
    actor = Actor.system("demo")
    for integration in Integration.objects.filter(enabled=True).order_by("name"):
        enable_alerting(integration, ticket_type=ticket_type, new_alert_user=fallback, actor=actor)
        url = _emulator_url(integration)
        if url is None:
            out.write(f"Alerting on for {integration.name} (no emulator to demonstrate with).")
            continue
        if AlertState.objects.filter(integration=integration, closed_here=True).exists():
            out.write(f"Alerting on for {integration.name}; its demo alert was already shown.")
            continue
        base = _control_base(url)
        try:
            raised = httpx.post(f"{base}/_emulator/alerts", json={"message": "Demo: disk C: below 10% free"},
                                timeout=10)
            raised.raise_for_status()
        except httpx.HTTPError as exc:
            out.write(f"Alerting on for {integration.name}; its emulator at {base} did not answer ({exc}).")
            continue
        alert_id = str(raised.json().get("alert_id") or raised.json().get("id"))
        result = poll_alerts(int(integration.pk), trigger="demo")
        out.write(f"Alerting on for {integration.name}: poll {result.message}.")
        state = AlertState.objects.filter(integration=integration, external_id=alert_id).select_related(
            "ticket").first()
        if state is None or state.ticket is None or state.ticket.status not in OPEN_STATUSES:
            out.write(f"  The demo alert {alert_id} did not open a ticket.")
            continue
        do_close_ticket(actor, state.ticket, note="Demo: fixed; closing resolves the alert in the RMM.")
        deliver_due()
        row = ResolveOutbox.objects.filter(ticket=state.ticket).first()
        status = row.get_status_display() if row is not None else "not queued"
        calls = httpx.get(f"{base}/_emulator/resolve-calls", timeout=10).json()
        resolved = any(str(c.get("alert_id")) == alert_id for c in calls)
        out.write(f"  Alert {alert_id} → ticket #{state.ticket.pk}, closed; resolve {status}"
                  f"{' and recorded by the emulator' if resolved else ''}.")
        if row is not None and row.status == OutboxStatus.PENDING:
            out.write(f"  Last error: {row.last_error}")
