"""Django app configuration for rmmbridge.spreadsheets."""

from django.apps import AppConfig


class SpreadsheetsConfig(AppConfig):
    name = "rmmbridge.spreadsheets"
    label = "spreadsheets"
    default_auto_field = "django.db.models.BigAutoField"
