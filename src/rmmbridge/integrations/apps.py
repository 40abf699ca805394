"""Django app configuration for rmmbridge.integrations."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "rmmbridge.integrations"
    label = "integrations"
    default_auto_field = "django.db.models.BigAutoField"
