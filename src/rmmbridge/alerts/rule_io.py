"""An integration's event rules in its configuration file (export, validate, import), naming objects by name."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model

from rmmbridge.alerts.event_rules import RuleOutcome, TextMatch, pattern_problem
from rmmbridge.alerts.models import EventRule
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import AssetType, Customer, Site
from rmmbridge.tickets.actions import assignee_problem
from rmmbridge.tickets.models import TicketType

SECTION = "event_rules"
TEXT_FIELDS = ("vendor", "condition", "severities", "text")


def export_rules(integration: Integration) -> list[dict[str, Any]]:
    """The integration's own rules in order (global rules belong to no integration and are not exported)."""
    rules = (EventRule.objects.filter(integration=integration)
             .select_related("customer", "site__customer", "asset_type", "ticket_type", "assign_to")
             .order_by("order", "id"))
    return [{
        "name": r.name, "order": r.order, "enabled": r.enabled, "vendor": r.vendor, "condition": r.condition,
        "severities": r.severities, "customer": r.customer.name if r.customer else None,
        "site": f"{r.site.customer.name} / {r.site.name}" if r.site else None,
        "asset_type": r.asset_type.name if r.asset_type else None, "text_match": r.text_match, "text": r.text,
        "outcome": r.outcome, "ticket_type": r.ticket_type.name if r.ticket_type else None, "priority": r.priority,
        "assign_to": r.assign_to.get_username() if r.assign_to else None,
    } for r in rules]


def _named(model: Any, value: Any, what: str, where: str, errors: list[str]) -> Any:
    if value in (None, ""):
        return None
    found = model.objects.filter(name__iexact=str(value).strip()).first()
    if found is None:
        errors.append(f"{where}: no {what} named {value!r}; create it first or leave it empty.")
    return found


def _site(value: Any, where: str, errors: list[str]) -> Site | None:
    if value in (None, ""):
        return None
    customer_name, _, site_name = str(value).partition("/")
    found = Site.objects.filter(customer__name__iexact=customer_name.strip(),
                                name__iexact=site_name.strip() or "Main").first()
    if found is None:
        errors.append(f"{where}: no site {value!r}; write it as 'Customer / Site'.")
    return found


def _user(value: Any, where: str, errors: list[str]) -> Any:
    """The active staff user with this username (tickets the rule opens are assigned to them)."""
    if value in (None, ""):
        return None
    name = str(value).strip()
    found = get_user_model().objects.filter(username__iexact=name).first()
    if found is None:
        errors.append(f"{where}: no user with username {name!r}; create the user first, correct the "
                      "username, or leave it empty (tickets open unassigned).")
    elif (problem := assignee_problem(found)) is not None:
        errors.append(f"{where}: {problem}")
    return found


def validate_rules(data: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Resolved rule rows and errors (each starting with its place, e.g. '[2].text: …')."""
    errors: list[str] = []
    if not isinstance(data, list):
        return [], [": must be a list of rules (as written by --export)."]
    rows: list[dict[str, Any]] = []
    for i, raw in enumerate(data):
        where = f"[{i}]"
        if not isinstance(raw, dict) or not str(raw.get("name") or "").strip():
            errors.append(f"{where}: each rule is an object with a 'name'.")
            continue
        unknown = set(raw) - {"name", "order", "enabled", "customer", "site", "asset_type", "text_match", "outcome",
                              "ticket_type", "priority", "assign_to", *TEXT_FIELDS}
        errors.extend(f"{where}.{key}: is not a rule field; remove it." for key in sorted(unknown))
        outcome = raw.get("outcome", RuleOutcome.OPEN_TICKET.value)
        if outcome not in {o.value for o in RuleOutcome}:
            choices = ', '.join(o.value for o in RuleOutcome)
            errors.append(f"{where}.outcome: must be one of {choices}; got {outcome!r}.")
        text_match = raw.get("text_match") or ""
        if text_match not in {t.value for t in TextMatch}:
            errors.append(f"{where}.text_match: must be '', 'contains' or 'regex'; got {text_match!r}.")
        elif (problem := pattern_problem(TextMatch(text_match), str(raw.get("text") or ""))) is not None:
            errors.append(f"{where}.text: {problem}")
        order, priority = raw.get("order", 100), raw.get("priority")
        if not isinstance(order, int) or isinstance(order, bool) or order < 0:
            errors.append(f"{where}.order: must be a whole number from 0; got {order!r}.")
        if priority is not None and (not isinstance(priority, int) or not 1 <= priority <= 4):
            errors.append(f"{where}.priority: must be 1 (critical) to 4 (low), or null; got {priority!r}.")
        rows.append({
            "name": str(raw["name"]).strip()[:200], "order": order, "enabled": bool(raw.get("enabled", True)),
            **{key: str(raw.get(key) or "") for key in TEXT_FIELDS}, "text_match": text_match, "outcome": outcome,
            "priority": priority,
            "customer": _named(Customer, raw.get("customer"), "customer", f"{where}.customer", errors),
            "site": _site(raw.get("site"), f"{where}.site", errors),
            "asset_type": _named(AssetType, raw.get("asset_type"), "asset type", f"{where}.asset_type", errors),
            "ticket_type": _named(TicketType, raw.get("ticket_type"), "ticket type", f"{where}.ticket_type", errors),
            "assign_to": _user(raw.get("assign_to"), f"{where}.assign_to", errors),
        })
    return rows, errors


def apply_rules(integration: Integration, rows: list[dict[str, Any]]) -> None:
    """Replace the integration's rules with the imported ones."""
    EventRule.objects.filter(integration=integration).delete()
    EventRule.objects.bulk_create([EventRule(integration=integration, **row) for row in rows])
