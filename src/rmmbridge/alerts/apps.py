"""Django app configuration for rmmbridge.alerts: ticket signal, ticket panel and integration setup panel."""

from __future__ import annotations

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "rmmbridge.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from rmmbridge.alerts.cache import clear_cache
        from rmmbridge.alerts.models import AlertingConfig, EmailRule, EventRule
        from rmmbridge.alerts.noise_models import MaintenanceWindow, NoiseSettings
        from rmmbridge.alerts.outbox import on_ticket_closed
        from rmmbridge.alerts.panels import ticket_alert_panel, ticket_storm_panel
        from rmmbridge.integrations.panels import SETUP_PANELS
        from rmmbridge.servicedesk.models import AssetType, Customer, EndUser, Site
        from rmmbridge.tickets.panels import TICKET_PANELS
        from rmmbridge.tickets.signals import ticket_closed

        ticket_closed.connect(on_ticket_closed, dispatch_uid="alerts.resolve_outbox")
        # Rules, alerting and noise options, and the customers, sites, users and asset types the receiver caches.
        for model in (EmailRule, EventRule, AlertingConfig, NoiseSettings, MaintenanceWindow, AssetType, Customer,
                      EndUser, Site):
            post_save.connect(clear_cache, sender=model, dispatch_uid=f"alerts.cache.save.{model.__name__}")
            post_delete.connect(clear_cache, sender=model, dispatch_uid=f"alerts.cache.delete.{model.__name__}")
        for panel in (ticket_storm_panel, ticket_alert_panel):
            if panel not in TICKET_PANELS:
                TICKET_PANELS.append(panel)
        if ("Alerting", "alerts:integration_alerting") not in SETUP_PANELS:
            SETUP_PANELS.append(("Alerting", "alerts:integration_alerting"))
