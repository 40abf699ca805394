"""`rmmbridge user`: create people with a role (administrator, technician, read-only), change roles, list them."""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from rmmbridge.servicedesk.roles import ROLES, assign_role, role_of


class Command(BaseCommand):
    help = "Create a user with a role (administrator, technician, read-only), change a role, or list users."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        create = sub.add_parser("create", help="Create a user with a role; prints a generated password once.")
        create.add_argument("username")
        create.add_argument("--role", required=True, choices=list(ROLES), help="What the person may do.")
        create.add_argument("--email", default="")
        create.add_argument("--password-stdin", action="store_true",
                            help="Read the password from standard input instead of generating one.")
        role = sub.add_parser("set-role", help="Change the role of a user.")
        role.add_argument("username")
        role.add_argument("--role", required=True, choices=list(ROLES))
        listing = sub.add_parser("list", help="List users with their roles.")
        listing.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        command = options["subcommand"]
        if command == "list":
            rows = [{"username": u.username, "role": role_of(u), "active": u.is_active}
                    for u in user_model.objects.order_by("username")]
            if options["json"]:
                self.stdout.write(json.dumps(rows))
            else:
                for row in rows:
                    self.stdout.write(f"{row['username']:<30} {row['role']:<14} {'' if row['active'] else 'inactive'}")
            return
        username = options["username"].strip()
        if command == "set-role":
            user = user_model.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"No user '{username}'; create it with `rmmbridge user create {username} --role …`.")
            assign_role(user, options["role"])
            self.stdout.write(f"'{username}' is now {options['role']}.")
            return
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user '{username}' exists already; change its role with `rmmbridge user set-role`.")
        generated = not options["password_stdin"]
        password = secrets.token_urlsafe(12) if generated else sys.stdin.readline().rstrip("\n")
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("The password is not accepted: " + " ".join(exc.messages)) from None
        with transaction.atomic():
            user = user_model.objects.create_user(username=username, email=options["email"], password=password)
            try:
                assign_role(user, options["role"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        self.stdout.write(f"Created '{username}' ({options['role']}).")
        if generated:
            self.stdout.write(f"Password: {password}  (shown only now)")
