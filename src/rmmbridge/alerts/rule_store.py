"""Event rules from the database as plain data (cached in a receiver), and the one call processing makes."""

from __future__ import annotations

import time
from typing import Any

from rmmbridge.alerts import cache
from rmmbridge.alerts.event_rules import AlertView, RuleDecision, RuleOutcome, RuleSpec, TextMatch, choose
from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.alerts.models import EventRule

#: Suppression reason codes kept on the event (`AlertEvent.suppressed`) and counted in the metrics.
SUPPRESSED_BY_RULE = "event_rule"
SUPPRESSED_NOTE_ONLY = "note_only"


def spec_of(rule: EventRule) -> RuleSpec:
    """A stored rule as the pure decision reads it."""
    return RuleSpec(
        id=int(rule.pk), name=rule.name, order=rule.order, integration_id=rule.integration_id,
        enabled=rule.enabled, vendor=rule.vendor, condition=rule.condition, severities=rule.severities,
        customer_id=rule.customer_id, site_id=rule.site_id, asset_type_id=rule.asset_type_id,
        text_match=TextMatch(rule.text_match), text=rule.text, outcome=RuleOutcome(rule.outcome),
        ticket_type_id=rule.ticket_type_id, priority=rule.priority, assign_to_id=rule.assign_to_id,
    )


def rule_specs() -> list[RuleSpec]:
    """Every enabled rule (from the cache when it is on; saves clear it)."""
    now = time.monotonic()
    hit = cache.get("event_rules")
    if hit is not None and hit[0] > now:
        cached: list[RuleSpec] = hit[1]
        return cached
    specs = [spec_of(rule) for rule in EventRule.objects.filter(enabled=True)]
    cache.put("event_rules", specs)
    return specs


def view_of(facts: AlertFacts, target: Target | None) -> AlertView:
    """What the rules see of one alert and where its ticket would go."""
    integration = facts.integration
    asset = target.asset if target is not None else None
    return AlertView(
        integration_id=int(integration.pk) if integration is not None else None,
        vendor=integration.vendor if integration is not None else "",
        condition=facts.condition,
        severity=facts.severity,
        customer_id=int(target.customer.pk) if target is not None else None,
        site_id=int(target.site.pk) if target is not None and target.site is not None else None,
        asset_type_id=int(asset.asset_type_id) if asset is not None else None,
        message=facts.message or facts.summary,
    )


def view_json(view: AlertView) -> dict[str, Any]:
    """The view as stored on the event (for the rule preview)."""
    return {name: getattr(view, name) for name in AlertView.__slots__}


def view_from_json(data: dict[str, Any]) -> AlertView:
    known = {name: data[name] for name in AlertView.__slots__ if name in data}
    return AlertView(**known)


def rule_decision(facts: AlertFacts, target: Target | None) -> tuple[RuleDecision, AlertView]:
    """The decision of the first matching event rule for a new alert (the default rule: open a ticket)."""
    view = view_of(facts, target)
    return choose(rule_specs(), view), view


def assignee(ruling: RuleDecision | None) -> Any:
    """The rule's user when they can still be assigned (active staff), else None: the ticket opens unassigned."""
    from rmmbridge.tickets.actions import active_assignee

    return active_assignee(ruling.assign_to_id if ruling is not None else None)


PREVIEW_EVENTS = 200


def preview(spec: RuleSpec, limit: int = PREVIEW_EVENTS) -> list[tuple[int, str, bool]]:
    """(event id, what its alert said, whether the rule matches) for the last `limit` events the rules saw.

    Only the rule's own conditions are tested (as if it came first), on what each event's alert looked like.
    """
    from rmmbridge.alerts.event_rules import matches
    from rmmbridge.alerts.models import AlertEvent

    rows = (AlertEvent.objects.exclude(rule_view={}).order_by("-id")
            .values_list("id", "summary", "rule_view")[:limit])
    views = [(int(pk), summary, view_from_json(view)) for pk, summary, view in rows]
    return [(pk, (view.message or summary)[:200], matches(spec, view)) for pk, summary, view in views]
