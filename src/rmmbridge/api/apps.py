"""Django app configuration for rmmbridge.api."""

from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rmmbridge.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"
