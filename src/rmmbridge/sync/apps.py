"""Django app configuration for rmmbridge.sync."""

from __future__ import annotations

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "rmmbridge.sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rmmbridge.integrations.panels import SETUP_PANELS

        if ("Sync", "sync:integration_setup") not in SETUP_PANELS:
            SETUP_PANELS.append(("Sync", "sync:integration_setup"))
