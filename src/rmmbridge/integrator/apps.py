"""Django app configuration for rmmbridge.integrator."""

from django.apps import AppConfig


class IntegratorConfig(AppConfig):
    name = "rmmbridge.integrator"
    label = "integrator"
    default_auto_field = "django.db.models.BigAutoField"
