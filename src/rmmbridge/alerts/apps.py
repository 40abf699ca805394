"""Django app configuration for rmmbridge.alerts: ticket signal, ticket panel and integration setup panel."""

from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "rmmbridge.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rmmbridge.alerts.outbox import on_ticket_closed
        from rmmbridge.alerts.panels import ticket_alert_panel
        from rmmbridge.integrations.panels import SETUP_PANELS
        from rmmbridge.tickets.panels import TICKET_PANELS
        from rmmbridge.tickets.signals import ticket_closed

        ticket_closed.connect(on_ticket_closed, dispatch_uid="alerts.resolve_outbox")
        if ticket_alert_panel not in TICKET_PANELS:
            TICKET_PANELS.append(ticket_alert_panel)
        if ("Alerting", "alerts:integration_alerting") not in SETUP_PANELS:
            SETUP_PANELS.append(("Alerting", "alerts:integration_alerting"))
