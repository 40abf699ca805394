"""Django app configuration for rmmbridge.tickets."""

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "rmmbridge.tickets"
    label = "tickets"
    default_auto_field = "django.db.models.BigAutoField"
