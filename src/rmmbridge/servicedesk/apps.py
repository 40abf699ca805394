"""Django app configuration for rmmbridge.servicedesk."""

from django.apps import AppConfig


class ServicedeskConfig(AppConfig):
    name = "rmmbridge.servicedesk"
    label = "servicedesk"
    default_auto_field = "django.db.models.BigAutoField"
