"""Django app configuration for rmmbridge.buttons."""

from __future__ import annotations

from django.apps import AppConfig


class ButtonsConfig(AppConfig):
    name = "rmmbridge.buttons"
    label = "buttons"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from rmmbridge.buttons.actions import add_defaults_on_create
        from rmmbridge.integrations.models import Integration
        from rmmbridge.integrations.panels import SETUP_PANELS

        SETUP_PANELS.append(("Device buttons", "buttons:integration_buttons"))
        post_save.connect(add_defaults_on_create, sender=Integration, dispatch_uid="buttons-defaults")
