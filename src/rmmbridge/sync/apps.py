"""Django app configuration for rmmbridge.sync."""

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "rmmbridge.sync"
    label = "sync"
    default_auto_field = "django.db.models.BigAutoField"
