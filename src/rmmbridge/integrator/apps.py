"""Django app configuration for rmmbridge.integrator."""

from django.apps import AppConfig


class IntegratorConfig(AppConfig):
    name = "rmmbridge.integrator"
    label = "integrator"
    verbose_name = "Integrator"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.apps import apps

        from rmmbridge.integrations.panels import SETUP_PANELS
        from rmmbridge.sync.configio import CONFIG_SECTIONS, ConfigSection

        SETUP_PANELS.append(("Integrator", "integrator:integration_schedule"))
        # The integrator sits above sync and alerts (DEVELOPERS.md): it adds the alerts' event rules to the
        # integration's configuration export/import, so neither of the two imports the other.
        if apps.is_installed("rmmbridge.alerts"):
            from rmmbridge.alerts.rule_io import SECTION, apply_rules, export_rules, validate_rules

            CONFIG_SECTIONS[SECTION] = ConfigSection(export_rules, validate_rules, apply_rules)
