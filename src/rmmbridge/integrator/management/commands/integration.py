"""`rmmbridge integration …`: add, list, test, fetch from, change, enable/disable and configure integrations."""

from __future__ import annotations

import dataclasses
import getpass
import io
import itertools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from rmmbridge.common.redact import redact_text
from rmmbridge.common.secrets import SecretDecryptError
from rmmbridge.connectors import REGISTRY, Connector
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.errors import ConnectorError, UnsupportedCapabilityError
from rmmbridge.connectors.records import AlertState
from rmmbridge.integrations import actions
from rmmbridge.integrations.connect import connector_for
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor

SECRET_ENV_PREFIX = "RMMBRIDGE_SECRET_"
FETCH_KINDS = ("devices", "sites", "customers", "users", "alerts")

ADD_EPILOG = (
    "Secrets (e.g. api_secret, client_secret) left out of --set are read from the environment variable "
    f"{SECRET_ENV_PREFIX}<KEY> (e.g. {SECRET_ENV_PREFIX}API_SECRET) when it is set, otherwise prompted for "
    "(hidden input) when stdin is a terminal, so they never appear in the shell history; without either, "
    "the command stops and names the missing secret. Vendors and their credential keys: "
)

COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": ("external_id", "hostname", "device_type", "site_external_id", "serial_number", "os_name",
                "last_seen", "online"),
    "sites": ("external_id", "name", "customer_external_id"),
    "customers": ("external_id", "name"),
    "users": ("external_id", "name", "email", "customer_external_id"),
    "alerts": ("external_id", "device_external_id", "hostname", "severity", "alert_type", "state", "raised_at",
               "message"),
}


def _vendor_keys() -> str:
    parts = []
    for slug, cls in sorted(REGISTRY.items()):
        secrets = set(cls.credentials_model.secret_keys())
        keys = [f"{k} (secret)" if k in secrets else k for k in cls.credentials_model.model_fields]
        parts.append(f"{slug}: {', '.join(keys)}")
    return "; ".join(parts) or "none registered"


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Parse KEY=VALUE pairs from --set; a malformed one is a clear error."""
    result: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CommandError(f"--set expects KEY=VALUE (e.g. --set api_url=https://…); got {item!r}.")
        result[key] = value
    return result


def find_integration(ref: str) -> Integration:
    """An integration by id or by name (case-insensitive)."""
    query = Integration.objects.all()
    found = query.filter(pk=int(ref)).first() if ref.isdigit() else None
    if found is None:
        found = query.filter(name__iexact=ref.strip()).first()
    if found is None:
        known = ", ".join(f"{i.name} (#{i.pk})" for i in query[:20]) or "none yet"
        raise CommandError(f"No integration with name or id {ref!r}. Known integrations: {known}.")
    return found


def _plain(value: Any) -> Any:
    """A JSON-friendly form of record values."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def record_dict(record: Any) -> dict[str, Any]:
    """A normalized record as a plain dict."""
    return {f.name: _plain(getattr(record, f.name)) for f in dataclasses.fields(record)}


def _offers(integration: Integration, kind: str) -> bool:
    """Whether the integration's vendor declares the capability behind a fetch kind."""
    capability = Capability.ALERTS_POLL if kind == "alerts" else Capability(kind)
    return capability in integration.connector_class.capabilities


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


class Command(BaseCommand):
    help = "Manage RMM integrations: add, list, test, fetch records, change credentials, enable/disable, configure."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")

        def add(name: str, help_text: str, **kwargs: Any) -> CommandParser:
            return sub.add_parser(name, help=help_text, description=help_text, **kwargs)

        p = add("add", "Add an integration (tests the credentials first unless --no-test).",
                epilog=ADD_EPILOG + _vendor_keys() + ".")
        p.add_argument("slug", help=f"Vendor: {', '.join(sorted(REGISTRY)) or 'none registered'}.")
        p.add_argument("--name", required=True, help="Name of the integration (unique).")
        p.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                       help="A credential value; repeat for each key.")
        p.add_argument("--no-test", action="store_true", help="Save without testing the credentials.")

        p = add("list", "List integrations with their status (secrets only as set / not set).")
        p.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

        p = add("test", "Test an integration's credentials (exit 0 when valid, else 1 with the error key).")
        p.add_argument("integration", help="Integration name or id.")

        p = add("fetch", "Fetch normalized records from the RMM, for troubleshooting.")
        p.add_argument("integration", help="Integration name or id.")
        p.add_argument("kind", choices=FETCH_KINDS, help="What to fetch.")
        p.add_argument("--limit", type=int, default=20, help="At most this many records (default 20).")
        p.add_argument("--state", choices=[s.value for s in AlertState], default="open",
                       help="Alerts only: open or resolved (default open).")
        p.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

        p = add("set", "Change credentials (tests them first unless --no-test; a blank secret keeps the stored one).")
        p.add_argument("integration", help="Integration name or id.")
        p.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                       help="A credential value; repeat for each key.")
        p.add_argument("--name", dest="new_name", help="Rename the integration.")
        p.add_argument("--no-test", action="store_true", help="Save without testing the credentials.")

        for name, verb in (("enable", "Enable"), ("disable", "Disable")):
            p = add(name, f"{verb} an integration.")
            p.add_argument("integration", help="Integration name or id.")

        add("rotate-keys", "Re-encrypt all credentials with the newest key of RMMBRIDGE_ENCRYPTION_KEYS.")

        p = add("configure", "Show, export or import an integration's sync configuration (JSON).")
        p.add_argument("integration", help="Integration name or id.")
        group = p.add_mutually_exclusive_group(required=True)
        group.add_argument("--show", action="store_true", help="Print the configuration.")
        group.add_argument("--export", metavar="FILE", help="Write the configuration to FILE ('-' for stdout).")
        group.add_argument("--import", dest="import_", metavar="FILE",
                           help="Read and apply the configuration from FILE (validated first).")

    def handle(self, *args: Any, **options: Any) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            "add": self.cmd_add, "list": self.cmd_list, "test": self.cmd_test, "fetch": self.cmd_fetch,
            "set": self.cmd_set, "enable": self.cmd_enable, "disable": self.cmd_disable,
            "rotate-keys": self.cmd_rotate, "configure": self.cmd_configure,
        }
        try:
            handlers[options["subcommand"]](options)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        except SecretDecryptError as exc:
            raise CommandError(str(exc)) from None

    # output helpers -----------------------------------------------------------------------------------

    def _print(self, text: str, secrets: Iterable[str] = (), *, patterns: bool = False) -> None:
        """Write text with every known secret value (and, with patterns, key=value secrets) redacted."""
        values = [s for s in secrets if isinstance(s, str)]
        if patterns:
            text = redact_text(text, values)
        else:
            for value in sorted({v for v in values if len(v) >= 4}, key=len, reverse=True):
                text = text.replace(value, "***")
        self.stdout.write(text, ending="" if text.endswith("\n") else "\n")

    def _table(self, table: Table) -> str:
        buffer = io.StringIO()
        Console(file=buffer, width=160, no_color=True, force_terminal=False).print(table)
        return buffer.getvalue()

    @property
    def actor(self) -> Actor:
        return Actor.cli(f"cli:{getpass.getuser()}")

    @staticmethod
    def _secret_values(integration: Integration) -> list[str]:
        try:
            stored = integration.get_credentials()
        except SecretDecryptError:
            return []
        secrets = integration.connector_class.credentials_model.secret_keys() if integration.vendor in REGISTRY else ()
        return [str(stored[k]) for k in secrets if stored.get(k)]

    # subcommands ---------------------------------------------------------------------------------------

    def _read_missing_secrets(self, slug: str, values: dict[str, str]) -> None:
        spec = actions.connector_class(slug).credentials_model
        for key in spec.secret_keys():
            if values.get(key):
                continue
            field = spec.model_fields[key]
            if not field.is_required():
                continue
            title = field.title or key
            env_name = SECRET_ENV_PREFIX + key.upper()
            if os.environ.get(env_name):
                values[key] = os.environ[env_name]
            elif sys.stdin.isatty():
                values[key] = getpass.getpass(f"{title} ({key}): ")
            else:
                raise CommandError(
                    f"Missing {title} ({key}): pass --set {key}=…, set the environment variable {env_name}, "
                    "or run in a terminal to be prompted."
                )

    def cmd_add(self, options: dict[str, Any]) -> None:
        slug = options["slug"]
        values = parse_assignments(options["assignments"])
        self._read_missing_secrets(slug, values)
        secrets = list(values.values())
        try:
            integration = actions.do_create_integration(self.actor, slug, options["name"], values,
                                                        test=not options["no_test"])
        except actions.CredentialTestFailed as exc:
            self.stderr.write(redact_text(f"{exc.result.error_key}: {exc.result.message}", secrets))
            raise SystemExit(1) from None
        account = f" – account {integration.account_name}" if integration.account_name else ""
        tested = "credentials not tested" if options["no_test"] else "credentials valid"
        self._print(f"Added integration '{integration.name}' (#{integration.pk}, {integration.vendor_name}): "
                    f"{tested}{account}.", secrets)

    def _summary(self, integration: Integration) -> dict[str, Any]:
        try:
            stored = integration.get_credentials()
            decrypt_error = ""
        except SecretDecryptError as exc:
            stored, decrypt_error = {}, str(exc)
        cls = REGISTRY.get(integration.vendor)
        credentials: dict[str, Any] = {}
        if cls is not None:
            secrets = set(cls.credentials_model.secret_keys())
            for key in cls.credentials_model.model_fields:
                credentials[key] = ("set" if stored.get(key) else "not set") if key in secrets else stored.get(key)
        return {
            "id": integration.pk, "name": integration.name, "vendor": integration.vendor,
            "enabled": integration.enabled, "status": integration.status,
            "account_id": integration.account_id, "account_name": integration.account_name,
            "last_tested_at": integration.last_tested_at.isoformat() if integration.last_tested_at else None,
            "last_error": integration.last_error or decrypt_error, "credentials": credentials,
        }

    def cmd_list(self, options: dict[str, Any]) -> None:
        integrations = list(Integration.objects.all())
        secrets = [s for i in integrations for s in self._secret_values(i)]
        rows = [self._summary(i) for i in integrations]
        if options["json"]:
            self._print(json.dumps(rows, indent=2), secrets)
            return
        if not rows:
            self._print("No integrations yet. Add one with: rmmbridge integration add <vendor> --name N --set …")
            return
        table = Table("id", "name", "vendor", "enabled", "status", "account", "credentials", "last error")
        for row in rows:
            creds = ", ".join(f"{k}={v}" for k, v in row["credentials"].items())
            table.add_row(str(row["id"]), row["name"], row["vendor"], "yes" if row["enabled"] else "no",
                          row["status"], row["account_name"], creds, _cell(row["last_error"]))
        self._print(self._table(table), secrets)

    def cmd_test(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        result = actions.do_test_integration(self.actor, integration)
        secrets = self._secret_values(integration)
        if result.ok:
            self._print(f"OK – {result.message}", secrets)
            return
        self.stderr.write(redact_text(f"{result.error_key}: {result.message}", secrets))
        raise SystemExit(1)

    def _records(self, connector: Connector, kind: str, state: str) -> Iterator[Any]:
        if kind == "devices":
            return connector.iter_devices()
        if kind == "sites":
            return connector.iter_sites()
        if kind == "customers":
            return connector.iter_customers()
        if kind == "users":
            return connector.iter_users()
        return connector.iter_alerts(AlertState(state))

    def cmd_fetch(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        limit = options["limit"]
        if limit < 1:
            raise CommandError(f"--limit must be at least 1; got {limit}.")
        kind = options["kind"]
        secrets = self._secret_values(integration)
        try:
            with connector_for(integration) as connector:
                records = [record_dict(r) for r in itertools.islice(self._records(connector, kind,
                                                                                  options["state"]), limit)]
                skipped = connector.skipped_records
        except UnsupportedCapabilityError as exc:
            offered = ", ".join(k for k in FETCH_KINDS if _offers(integration, k))
            raise CommandError(f"{exc.message} {integration.vendor_name} offers: {offered}.") from None
        except ConnectorError as exc:
            self.stderr.write(redact_text(f"{exc.key}: {exc.message}", secrets))
            raise SystemExit(1) from None
        if options["json"]:
            self._print(json.dumps(records, indent=2, default=str), secrets, patterns=True)
            return
        table = Table(title=f"{kind} from {integration.name} (first {limit})")
        for column in COLUMNS[kind]:
            table.add_column(column, overflow="fold")
        for record in records:
            table.add_row(*(_cell(record.get(c)) for c in COLUMNS[kind]))
        footer = f"{len(records)} {kind} shown" + (f"; {skipped} malformed record(s) skipped" if skipped else "")
        self._print(self._table(table) + footer + "\n", secrets, patterns=True)

    def cmd_set(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        values = parse_assignments(options["assignments"])
        if not values and not options["new_name"]:
            raise CommandError("Nothing to change: pass --set KEY=VALUE (repeatable) and/or --name NEW_NAME.")
        secrets = [*self._secret_values(integration), *values.values()]
        if options["new_name"]:
            actions.do_rename_integration(self.actor, integration, options["new_name"])
        if values:
            try:
                result = actions.do_update_credentials(self.actor, integration, values, test=not options["no_test"])
            except actions.CredentialTestFailed as exc:
                self.stderr.write(redact_text(f"{exc.result.error_key}: {exc.result.message} "
                                              "(stored credentials unchanged)", secrets))
                raise SystemExit(1) from None
            suffix = f" – {result.message}" if result else " (not tested)"
            self._print(f"Updated credentials of '{integration.name}'{suffix}", secrets)
        else:
            self._print(f"Renamed to '{integration.name}'.")

    def cmd_enable(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        changed = actions.do_set_enabled(self.actor, integration, True)
        self._print(f"Enabled '{integration.name}'." if changed else f"'{integration.name}' was already enabled.")

    def cmd_disable(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        changed = actions.do_set_enabled(self.actor, integration, False)
        self._print(f"Disabled '{integration.name}'." if changed else f"'{integration.name}' was already disabled.")

    def cmd_rotate(self, options: dict[str, Any]) -> None:
        from django.apps import apps
        from django.db import transaction

        alert_count: int | None = None
        with transaction.atomic():  # all or nothing: credentials and the alerting secrets together
            count = actions.do_rotate_encryption(self.actor)
            if apps.is_installed("rmmbridge.alerts"):
                # Webhook secrets and mailbox passwords live in the alerts app.
                from rmmbridge.alerts.secrets import rotate_alert_secrets

                alert_count = rotate_alert_secrets()
        self._print(f"Re-encrypted the credentials of {count} integration(s) with the newest key.")
        if alert_count is not None:
            self._print(f"Re-encrypted {alert_count} alerting secret(s) (webhook secrets, mailbox passwords).")

    def cmd_configure(self, options: dict[str, Any]) -> None:
        integration = find_integration(options["integration"])
        from rmmbridge.sync.configio import configure_command

        configure_command(integration, {**options, "import": options["import_"]}, self.stdout)
