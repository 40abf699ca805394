"""`rmmbridge init`: create RMMBRIDGE_HOME, migrate, and create the first administrator."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rmmbridge.common.home import encryption_keys


def pending_migrations() -> int:
    """How many migrations are not applied yet."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def ensure_initialised(stdout: Any, username: str = "admin") -> tuple[bool, str | None]:
    """Migrate and create the first administrator when none exists.

    Returns (changed, generated_password); the password is shown once and never stored in clear.
    """
    changed = False
    if pending_migrations():
        call_command("migrate", interactive=False, verbosity=0)
        changed = True
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return changed, None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email="", password=password)
    return True, password


class Command(BaseCommand):
    help = "Create RMMBRIDGE_HOME, apply migrations and create the first administrator (prints its password once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin", help="User name of the first administrator.")

    def handle(self, *args: Any, **options: Any) -> None:
        home = settings.HOME
        encryption_keys()  # create the encryption key file (mode 0600) now, not on first use
        changed, password = ensure_initialised(self.stdout, options["username"])
        database = settings.DATABASES["default"]["NAME"]
        if password:
            self.stdout.write(self.style.SUCCESS(f"Initialised rmmbridge in {home} (database: {database})."))
            self.stdout.write(f"Administrator: {options['username']}")
            self.stdout.write(f"Password:      {password}   (shown once; change it after logging in)")
        elif changed:
            self.stdout.write(self.style.SUCCESS("Applied pending database migrations; administrator already exists."))
        else:
            self.stdout.write(
                f"Already initialised in {home}: nothing to do (migrations applied, administrator exists)."
            )
