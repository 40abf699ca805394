"""rmmbridge token create|list|revoke: personal API tokens from the command line."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.api.models import ApiToken, TokenScope
from rmmbridge.api.tokens import do_create_token, do_revoke_token, find_user, parse_expiry
from rmmbridge.servicedesk.actions import Actor


class Command(BaseCommand):
    help = "Create, list or revoke personal API tokens (create prints the token once)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token for a user and print it once.")
        create.add_argument("--user", required=True, help="The username the token acts as.")
        create.add_argument("--scope", required=True, choices=TokenScope.values)
        create.add_argument("--expires", default="", help="Lifetime such as 90d, 12h or 2w (default: never).")
        create.add_argument("--name", default="", help="What the token is for.")
        listing = sub.add_parser("list", help="List tokens (prefix, user, scope, expiry, last use).")
        listing.add_argument("--user", default="")
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix (as shown by list).")
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc

    def _create(self, options: dict[str, Any]) -> None:
        user = find_user(options["user"])
        token, raw = do_create_token(Actor.cli(f"cli: token create --user {user.get_username()}"), user,
                                     scope=options["scope"], name=options["name"],
                                     expires_in=parse_expiry(options["expires"]))
        self.stdout.write(raw)
        expiry = f"expires {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else "never expires"
        self.stderr.write(f"Token {token.prefix}… for {user.get_username()}, scope {token.scope}, {expiry}. "
                          "It is shown only now.")

    def _list(self, options: dict[str, Any]) -> None:
        tokens = ApiToken.objects.select_related("user")
        if options["user"]:
            tokens = tokens.filter(user__username=options["user"])
        for t in tokens:
            state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "active")
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            self.stdout.write(f"{t.prefix}…  {t.user.get_username()}  {t.scope}  {state}  last used {used}  {t.name}")

    def _revoke(self, options: dict[str, Any]) -> None:
        prefix = options["prefix"].rstrip("…").rstrip(".")
        matches = list(ApiToken.objects.filter(prefix__startswith=prefix[:12])) if len(prefix) >= 6 else []
        if len(matches) != 1:
            raise CommandError(f"No single token starts with '{prefix}'; give the prefix shown by `token list`.")
        if do_revoke_token(Actor.cli("cli: token revoke"), matches[0]):
            self.stdout.write(f"Revoked {matches[0].prefix}….")
        else:
            self.stdout.write(f"{matches[0].prefix}… was already revoked.")
