"""Django app configuration for rmmbridge.web."""

from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "rmmbridge.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"
