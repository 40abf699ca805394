"""Export, validate and import an integration's sync configuration as JSON (`integration configure`)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.core.management.base import CommandError
from django.db import transaction

from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, record_audit
from rmmbridge.servicedesk.models import AssetGroup, AssetType, Customer, Site, TopLevel
from rmmbridge.sync.models import AssetTypeMapping, CustomerMapping, FieldMapping, SyncConfig
from rmmbridge.sync.plan import FieldPolicy, MissingAction, NewCustomerMode
from rmmbridge.sync.snapshot import sync_config

VERSION = 1
BOOL_SETTINGS = ("match_users", "link_device_users", "child_assets", "allow_customer_moves")
INT_SETTINGS = {"grace_hours": (0, 24 * 365), "guard_percent": (0, 100), "source_priority": (0, 10000)}


@dataclass(frozen=True)
class ConfigSection:
    """A part of the configuration file owned by an app above sync (e.g. the alerts app's event rules)."""

    export: Callable[[Integration], Any]
    #: (resolved value, errors that say what to fix) for the section as read from the file.
    validate: Callable[[Any], tuple[Any, list[str]]]
    #: Replace the integration's rows with the resolved value (inside the import's transaction).
    apply: Callable[[Integration, Any], None]


#: Sections other apps add (name -> section), registered by an app above both (integrator.apps); sync imports none.
CONFIG_SECTIONS: dict[str, ConfigSection] = {}


def _site_label(site: Site | None) -> str | None:
    return f"{site.customer.name} / {site.name}" if site else None


def export_config(integration: Integration) -> dict[str, Any]:
    """The configuration as plain JSON, naming local objects by name so it can move between installations."""
    config = sync_config(integration)
    return {
        "version": VERSION,
        "integration": integration.name,
        "settings": {
            "new_customer_mode": config.new_customer_mode,
            "toplevel": config.toplevel.name if config.toplevel else None,
            "one_customer": config.one_customer.name if config.one_customer else None,
            "match_users": config.match_users,
            "link_device_users": config.link_device_users,
            "user_source": config.user_source,
            "import_types": list(config.import_types or []),
            "type_field": config.type_field,
            "default_group": config.default_group.name if config.default_group else None,
            "match_rules": list(config.match_rules or []),
            "junk_values": list(config.junk_values or []),
            "default_site": _site_label(config.default_site),
            "child_assets": config.child_assets,
            "missing_action": config.missing_action,
            "grace_hours": config.grace_hours,
            "guard_percent": config.guard_percent,
            "allow_customer_moves": config.allow_customer_moves,
            "source_priority": config.source_priority,
        },
        "customer_mappings": [
            {"kind": m.kind, "external_id": m.external_id, "external_name": m.external_name,
             "customer": m.customer.name,
             "site": m.site.name if m.site else None}
            for m in CustomerMapping.objects.filter(integration=integration).select_related("customer", "site")
        ],
        "asset_type_mappings": [
            {"device_type": t.device_type, "asset_type": t.asset_type.name if t.asset_type else None,
             "ignore": t.ignore}
            for t in AssetTypeMapping.objects.filter(integration=integration).select_related("asset_type")
        ],
        "field_mappings": [
            {"source": f.source, "target": f.target, "policy": f.policy, "device_type": f.device_type,
             "create_if_missing": f.create_if_missing}
            for f in FieldMapping.objects.filter(integration=integration)
        ],
        **{name: section.export(integration) for name, section in CONFIG_SECTIONS.items()},
    }


class _Validator:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.errors.append(f"{where}: {message}")

    def choice(self, where: str, value: Any, choices: list[str]) -> str | None:
        if value not in choices:
            self.fail(where, f"must be one of {', '.join(choices)}; got {value!r}.")
            return None
        return str(value)

    def named(self, where: str, value: Any, model: Any, what: str) -> Any:
        if value in (None, ""):
            return None
        found = model.objects.filter(name__iexact=str(value).strip()).first()
        if found is None:
            self.fail(where, f"no {what} named {value!r}; create it first or fix the name.")
        return found

    def site(self, where: str, value: Any) -> Site | None:
        if value in (None, ""):
            return None
        customer_name, _, site_name = str(value).partition(" / ")
        found = Site.objects.filter(customer__name__iexact=customer_name.strip(),
                                    name__iexact=site_name.strip() or "Main").first()
        if found is None:
            self.fail(where, f"no site {value!r}; write it as 'Customer / Site'.")
        return found


def validate_config(data: Any) -> tuple[dict[str, Any], list[str]]:
    """Check an imported configuration; returns (resolved values, errors that say what to fix)."""
    v = _Validator()
    if not isinstance(data, dict):
        return {}, ["The file must hold one JSON object (as written by --export)."]
    if data.get("version", VERSION) != VERSION:
        v.fail("version", f"only version {VERSION} is understood; got {data.get('version')!r}.")
    raw = data.get("settings", {})
    resolved: dict[str, Any] = {}
    if not isinstance(raw, dict):
        v.fail("settings", "must be an object.")
        raw = {}
    unknown = set(raw) - {"new_customer_mode", "toplevel", "one_customer", "import_types", "default_group",
                          "match_rules", "junk_values", "default_site", "missing_action", "user_source", "type_field",
                          *BOOL_SETTINGS, *INT_SETTINGS}
    for key in sorted(unknown):
        v.fail(f"settings.{key}", "is not a known setting; remove it.")
    if "new_customer_mode" in raw:
        resolved["new_customer_mode"] = v.choice("settings.new_customer_mode", raw["new_customer_mode"],
                                                 [m.value for m in NewCustomerMode])
    if "missing_action" in raw:
        resolved["missing_action"] = v.choice("settings.missing_action", raw["missing_action"],
                                              [m.value for m in MissingAction])
    if "toplevel" in raw:
        resolved["toplevel"] = v.named("settings.toplevel", raw["toplevel"], TopLevel, "top level")
    if "one_customer" in raw:
        resolved["one_customer"] = v.named("settings.one_customer", raw["one_customer"], Customer, "customer")
    if "default_group" in raw:
        resolved["default_group"] = v.named("settings.default_group", raw["default_group"], AssetGroup,
                                            "asset group")
    if "type_field" in raw:
        if not isinstance(raw["type_field"], str | type(None)):
            v.fail("settings.type_field", "must be an RMM field path, e.g. facts.device_model_name, or empty.")
        resolved["type_field"] = str(raw["type_field"] or "").strip()
    if "user_source" in raw:
        if not isinstance(raw["user_source"], str):
            v.fail("settings.user_source", "must be an RMM field path, e.g. last_logged_in_user or udf.udf2.")
        resolved["user_source"] = str(raw["user_source"] or "last_logged_in_user").strip()
    if "default_site" in raw:
        resolved["default_site"] = v.site("settings.default_site", raw["default_site"])
    for key in BOOL_SETTINGS:
        if key in raw:
            if not isinstance(raw[key], bool):
                v.fail(f"settings.{key}", f"must be true or false; got {raw[key]!r}.")
            resolved[key] = bool(raw[key])
    for key, (low, high) in INT_SETTINGS.items():
        if key in raw:
            value = raw[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                v.fail(f"settings.{key}", f"must be a whole number from {low} to {high}; got {value!r}.")
            resolved[key] = value
    for key in ("import_types", "junk_values"):
        if key in raw:
            if not isinstance(raw[key], list) or not all(isinstance(x, str) for x in raw[key]):
                v.fail(f"settings.{key}", "must be a list of texts.")
            resolved[key] = [str(x) for x in raw[key]] if isinstance(raw[key], list) else []
    if "match_rules" in raw:
        rules = raw["match_rules"]
        clean_rules = []
        for i, rule in enumerate(rules if isinstance(rules, list) else [None]):
            if not isinstance(rule, dict) or not isinstance(rule.get("field"), str) or not rule["field"].strip():
                v.fail(f"settings.match_rules[{i}]", 'write {"field": "serial_number", "within_customer": false}.')
                continue
            clean_rules.append({"field": rule["field"].strip(), "within_customer": bool(rule.get("within_customer"))})
        resolved["match_rules"] = clean_rules
    resolved["customer_mappings"] = _customer_rows(v, data.get("customer_mappings", []))
    resolved["asset_type_mappings"] = _type_rows(v, data.get("asset_type_mappings", []))
    resolved["field_mappings"] = _field_rows(v, data.get("field_mappings", []))
    for name, section in CONFIG_SECTIONS.items():
        if name in data:
            resolved[name], problems = section.validate(data[name])
            v.errors.extend(f"{name}{problem}" for problem in problems)
    return resolved, v.errors


def _rows(v: _Validator, name: str, rows: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(rows, list):
        v.fail(name, "must be a list.")
        return []
    result = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            v.fail(f"{name}[{i}]", "must be an object.")
            continue
        result.append((f"{name}[{i}]", row))
    return result


def _customer_rows(v: _Validator, rows: Any) -> list[dict[str, Any]]:
    clean: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for where, row in _rows(v, "customer_mappings", rows):
        external_id = str(row.get("external_id") or "").strip()
        kind = str(row.get("kind") or "customer").strip().lower()
        if kind not in ("customer", "site"):
            v.fail(f"{where}.kind", f"{kind!r} is not a mapping kind: use 'customer' or 'site'.")
            continue
        if not external_id:
            v.fail(f"{where}.external_id", "is required (the RMM's customer or site id).")
            continue
        if (kind, external_id) in seen:
            v.fail(f"{where}.external_id", f"{kind} {external_id!r} is mapped twice; keep one row.")
        seen.add((kind, external_id))
        customer = v.named(f"{where}.customer", row.get("customer"), Customer, "customer")
        if row.get("customer") in (None, ""):
            v.fail(f"{where}.customer", "is required.")
        site = None
        if customer is not None and row.get("site"):
            site = customer.sites.filter(name__iexact=str(row["site"]).strip()).first()
            if site is None:
                v.fail(f"{where}.site", f"customer '{customer.name}' has no site named {row['site']!r}.")
        clean.append({"kind": kind, "external_id": external_id,
                      "external_name": str(row.get("external_name") or "")[:255], "customer": customer, "site": site})
    return clean


def _type_rows(v: _Validator, rows: Any) -> list[dict[str, Any]]:
    clean: list[dict[str, Any]] = []
    for where, row in _rows(v, "asset_type_mappings", rows):
        device_type = str(row.get("device_type") or "").strip()
        if not device_type:
            v.fail(f"{where}.device_type", "is required (e.g. workstation, server, printer).")
            continue
        ignore = bool(row.get("ignore"))
        asset_type = v.named(f"{where}.asset_type", row.get("asset_type"), AssetType, "asset type")
        if not ignore and row.get("asset_type") in (None, ""):
            v.fail(where, "give an asset_type, or set ignore to true.")
        clean.append({"device_type": device_type, "asset_type": asset_type, "ignore": ignore})
    return clean


def _field_rows(v: _Validator, rows: Any) -> list[dict[str, Any]]:
    clean: list[dict[str, Any]] = []
    policies = [p.value for p in FieldPolicy]
    for where, row in _rows(v, "field_mappings", rows):
        source, target = str(row.get("source") or "").strip(), str(row.get("target") or "").strip()
        if not source or not target:
            v.fail(where, "needs both source (RMM field path) and target (asset field key, e.g. CFwarranty).")
            continue
        if not all(ch.isalnum() or ch == "_" for ch in target):
            v.fail(f"{where}.target", f"{target!r} may contain only letters, digits and underscores.")
        policy = v.choice(f"{where}.policy", row.get("policy", "always"), policies) or "always"
        clean.append({"source": source, "target": target, "policy": policy,
                      "device_type": str(row.get("device_type") or ""),
                      "create_if_missing": bool(row.get("create_if_missing"))})
    return clean


@transaction.atomic
def import_config(integration: Integration, data: Any, actor: Actor) -> SyncConfig:
    """Validate and apply a configuration; the mapping tables given are replaced. Raises ValueError on errors."""
    resolved, errors = validate_config(data)
    if errors:
        raise ValueError("The configuration was not imported; fix these:\n  " + "\n  ".join(errors))
    config = sync_config(integration)
    for key in ("new_customer_mode", "toplevel", "one_customer", "import_types", "default_group", "match_rules",
                "junk_values", "default_site", "missing_action", "user_source", "type_field", *BOOL_SETTINGS,
                *INT_SETTINGS):
        if key in resolved:
            setattr(config, key, resolved[key])
    config.save()
    if "customer_mappings" in data:
        CustomerMapping.objects.filter(integration=integration).delete()
        CustomerMapping.objects.bulk_create([CustomerMapping(integration=integration, **row)
                                             for row in resolved["customer_mappings"]])
    if "asset_type_mappings" in data:
        AssetTypeMapping.objects.filter(integration=integration).delete()
        AssetTypeMapping.objects.bulk_create([AssetTypeMapping(integration=integration, **row)
                                              for row in resolved["asset_type_mappings"]])
    if "field_mappings" in data:
        FieldMapping.objects.filter(integration=integration).delete()
        FieldMapping.objects.bulk_create([FieldMapping(integration=integration, **row)
                                          for row in resolved["field_mappings"]])
    for name, section in CONFIG_SECTIONS.items():
        if name in data:
            section.apply(integration, resolved[name])
    record_audit(actor, config, "import", {"configuration": [None, "imported"]})
    return config


def configure_command(integration: Integration, options: dict[str, Any], stdout: IO[str] | Any) -> None:
    """`integration configure N --show | --export FILE | --import FILE`."""
    if options.get("import"):
        path = str(options["import"])
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise CommandError(f"{path} is not valid JSON ({where}): {exc.msg}.") from None
        try:
            import_config(integration, data, Actor.cli())
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        stdout.write(f"Imported the sync configuration of '{integration.name}'.\n")
        return
    text = json.dumps(export_config(integration), indent=2, ensure_ascii=False)
    if options.get("export") and options["export"] != "-":
        Path(options["export"]).write_text(text + "\n", encoding="utf-8")
        stdout.write(f"Wrote the sync configuration of '{integration.name}' to {options['export']}.\n")
        return
    stdout.write(text + "\n")
