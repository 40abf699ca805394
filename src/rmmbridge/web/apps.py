"""Django app configuration for rmmbridge.web."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _grant_user_admin(sender: Any, **kwargs: Any) -> None:
    """Administrators manage people in the admin site: give their group the user permissions (made after migrate)."""
    from django.contrib.auth.models import Group, Permission

    group = Group.objects.filter(name="Administrators").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(
            content_type__app_label="auth", codename__in=("add_user", "change_user", "delete_user", "view_user",
                                                          "view_group")))


class WebConfig(AppConfig):
    name = "rmmbridge.web"
    label = "web"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_grant_user_admin, sender=self, dispatch_uid="rmmbridge.web.roles")
