"""The dashboard: per integration its state, last sync, last alert per channel, backlog and what needs doing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.urls import reverse

from rmmbridge.alerts.models import AlertEvent, OutboxStatus, ResolveOutbox
from rmmbridge.integrations.models import Integration, IntegrationStatus
from rmmbridge.sync.models import SyncRun, SyncStatus
from rmmbridge.tickets.choices import OPEN_STATUSES, TicketSource
from rmmbridge.tickets.models import Ticket

ALERT_SOURCES = (TicketSource.EMAIL, TicketSource.WEBHOOK, TicketSource.POLL)


@dataclass
class IntegrationCard:
    """One integration as the dashboard shows it."""

    integration: Integration
    state: str
    state_class: str
    last_sync: datetime | None
    last_alerts: list[tuple[str, datetime]]
    backlog: int
    todo: list[tuple[str, str]] = field(default_factory=list)


def _state(integration: Integration, waiting: SyncRun | None) -> tuple[str, str]:
    if not integration.enabled:
        return "disabled", "warn"
    if waiting is not None:
        return "guard waiting for confirmation", "warn"
    if integration.status == IntegrationStatus.NEEDS_REAUTH:
        return "needs re-authentication", "bad"
    if integration.status == IntegrationStatus.FAILING:
        return "failing", "bad"
    if integration.status == IntegrationStatus.OK:
        return "ok", "ok"
    return "not tested yet", "warn"


def integration_cards() -> list[IntegrationCard]:
    """Every integration with the facts an administrator checks first, and links to what needs doing now."""
    integrations = list(Integration.objects.order_by("name"))
    last_sync = dict(SyncRun.objects.filter(dry_run=False, status__in=[SyncStatus.SUCCESS, SyncStatus.PARTIAL])
                     .values("integration_id").annotate(at=Max("finished_at")).values_list("integration_id", "at"))
    alerts: dict[int, list[tuple[str, datetime]]] = {}
    labels = dict(AlertEvent._meta.get_field("channel").choices or [])
    for row in (AlertEvent.objects.filter(integration__isnull=False).values("integration_id", "channel")
                .annotate(at=Max("received_at")).order_by("integration_id", "channel")):
        alerts.setdefault(row["integration_id"], []).append((str(labels.get(row["channel"], row["channel"])),
                                                              row["at"]))
    backlog = dict(ResolveOutbox.objects.filter(status=OutboxStatus.PENDING).values("integration_id")
                   .annotate(n=Count("id")).values_list("integration_id", "n"))
    waiting = {run.integration_id: run for run in
               SyncRun.objects.filter(status=SyncStatus.NEEDS_CONFIRMATION).order_by("started_at")}
    cards = []
    for integration in integrations:
        run = waiting.get(integration.pk)
        state, css = _state(integration, run)
        card = IntegrationCard(integration, state, css, last_sync.get(integration.pk),
                               alerts.get(integration.pk, []), backlog.get(integration.pk, 0))
        detail = reverse("integrations:integration_detail", args=[integration.pk])
        if run is not None:
            card.todo.append(("Confirm or review the deactivations the guard held back",
                              reverse("sync:run_detail", args=[run.pk])))
        if integration.enabled and integration.status == IntegrationStatus.NEEDS_REAUTH:
            card.todo.append(("Enter new credentials and test them", detail))
        elif integration.enabled and integration.status == IntegrationStatus.FAILING:
            card.todo.append((f"Fix the connection: {integration.last_error[:120] or 'see the request log'}",
                              reverse("integrations:request_log", args=[integration.pk])))
        elif integration.enabled and integration.status == IntegrationStatus.NEW:
            card.todo.append(("Test the credentials", detail))
        if integration.enabled and card.last_sync is None and integration.status == IntegrationStatus.OK:
            card.todo.append(("Map customers and run the first import",
                              reverse("sync:integration_setup", args=[integration.pk])))
        if card.backlog:
            card.todo.append((f"{card.backlog} alert resolve(s) waiting to reach the RMM",
                              reverse("alerts:integration_alerting", args=[integration.pk])))
        cards.append(card)
    return cards


def open_alert_tickets_by_customer(limit: int = 20) -> list[dict[str, Any]]:
    """Customers with open alert tickets, most first: [{customer_id, name, open}]."""
    rows = (Ticket.objects.filter(status__in=list(OPEN_STATUSES), source__in=ALERT_SOURCES)
            .values("customer_id", "customer__name").annotate(open=Count("id")).order_by("-open", "customer__name"))
    return [{"customer_id": r["customer_id"], "name": r["customer__name"], "open": r["open"]} for r in rows[:limit]]
