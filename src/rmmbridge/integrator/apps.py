"""Django app configuration for rmmbridge.integrator."""

from django.apps import AppConfig


class IntegratorConfig(AppConfig):
    name = "rmmbridge.integrator"
    label = "integrator"
    verbose_name = "Integrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rmmbridge.integrations.panels import SETUP_PANELS

        SETUP_PANELS.append(("Integrator", "integrator:integration_schedule"))
