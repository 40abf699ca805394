"""Django app configuration for rmmbridge.alerts."""

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "rmmbridge.alerts"
    label = "alerts"
    default_auto_field = "django.db.models.BigAutoField"
