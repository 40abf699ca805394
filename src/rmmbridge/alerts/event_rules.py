"""Pure event-rule decision: which ordered rule (per integration, then global) says what a new alert becomes."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

#: Message text is matched on at most this many characters, and a pattern is at most MAX_PATTERN_CHARS long.
#: Python's `re` has no timeout: bounding the text (and compile-checking each pattern when it is saved) bounds
#: the work of one match, so a rule cannot stall intake.
MAX_TEXT_CHARS = 4000
MAX_PATTERN_CHARS = 300


class RuleOutcome(StrEnum):
    """What a matching rule makes of the alert."""

    OPEN_TICKET = "open_ticket"
    NOTE_ONLY = "note_only"
    IGNORE = "ignore"


class TextMatch(StrEnum):
    """How a rule's message text is compared."""

    ANY = ""
    CONTAINS = "contains"
    REGEX = "regex"


@dataclass(frozen=True, slots=True)
class AlertView:
    """What a rule may look at for one alert (plain values; ids of the customer, site and asset type)."""

    integration_id: int | None = None
    vendor: str = ""
    condition: str = ""
    severity: str = ""
    customer_id: int | None = None
    site_id: int | None = None
    asset_type_id: int | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One event rule as plain data; an empty condition matches anything."""

    id: int
    name: str
    order: int = 100
    integration_id: int | None = None
    enabled: bool = True
    vendor: str = ""
    #: Case-insensitive substring of the alert type / condition.
    condition: str = ""
    #: Comma-separated severity labels (case-insensitive), e.g. "critical, high".
    severities: str = ""
    customer_id: int | None = None
    site_id: int | None = None
    asset_type_id: int | None = None
    text_match: TextMatch = TextMatch.ANY
    text: str = ""
    outcome: RuleOutcome = RuleOutcome.OPEN_TICKET
    ticket_type_id: int | None = None
    priority: int | None = None
    #: The user the opened ticket is assigned to (None: unassigned).
    assign_to_id: int | None = None


@dataclass(frozen=True, slots=True)
class RuleDecision:
    """The winning rule (None: the default rule, today's behaviour) and what it says."""

    outcome: RuleOutcome
    rule_id: int | None = None
    rule_name: str = ""
    ticket_type_id: int | None = None
    priority: int | None = None
    assign_to_id: int | None = None

    @property
    def reason(self) -> str:
        if self.rule_id is None:
            return "No event rule matched (default rule: open a ticket)."
        return {
            RuleOutcome.OPEN_TICKET: f"Event rule '{self.rule_name}' opens a ticket.",
            RuleOutcome.NOTE_ONLY: f"Event rule '{self.rule_name}' only adds notes to an open ticket, and this "
                                   "alert has none: no ticket opened.",
            RuleOutcome.IGNORE: f"Suppressed by event rule '{self.rule_name}'.",
        }[self.outcome]


DEFAULT = RuleDecision(RuleOutcome.OPEN_TICKET)


def pattern_problem(text_match: TextMatch, text: str) -> str | None:
    """Why a rule's message text cannot be used (None when it can): too long, or not a regular expression."""
    if text_match is TextMatch.ANY:
        return None
    if not text.strip():
        return "Enter the text to look for, or choose 'any message'."
    if len(text) > MAX_PATTERN_CHARS:
        return f"The text is {len(text)} characters; at most {MAX_PATTERN_CHARS}."
    if text_match is TextMatch.REGEX:
        try:
            re.compile(text)
        except re.error as exc:
            return f"Not a regular expression: {exc}."
    return None


def ordered(rules: Iterable[RuleSpec], integration_id: int | None) -> list[RuleSpec]:
    """The rules that apply to an integration's alerts, in evaluation order: its own (by order, id), then global."""
    own = sorted((r for r in rules if r.enabled and r.integration_id is not None
                  and r.integration_id == integration_id), key=lambda r: (r.order, r.id))
    shared = sorted((r for r in rules if r.enabled and r.integration_id is None), key=lambda r: (r.order, r.id))
    return own + shared


def matches(rule: RuleSpec, alert: AlertView) -> bool:
    """Whether every condition the rule sets holds for the alert."""
    if rule.integration_id is not None and rule.integration_id != alert.integration_id:
        return False
    if rule.vendor and rule.vendor.lower() != alert.vendor.lower():
        return False
    if rule.condition and rule.condition.lower() not in alert.condition.lower():
        return False
    if rule.severities:
        wanted = {s.strip().lower() for s in rule.severities.split(",") if s.strip()}
        if alert.severity.strip().lower() not in wanted:
            return False
    for wanted_id, have in ((rule.customer_id, alert.customer_id), (rule.site_id, alert.site_id),
                            (rule.asset_type_id, alert.asset_type_id)):
        if wanted_id is not None and wanted_id != have:
            return False
    return _text_matches(rule, alert.message[:MAX_TEXT_CHARS])


def _text_matches(rule: RuleSpec, text: str) -> bool:
    if rule.text_match is TextMatch.ANY:
        return True
    if pattern_problem(rule.text_match, rule.text) is not None:
        return False  # an unusable pattern never matches (the form refuses it; an import reports it)
    if rule.text_match is TextMatch.CONTAINS:
        return rule.text.lower() in text.lower()
    return re.search(rule.text, text) is not None


def choose(rules: Sequence[RuleSpec], alert: AlertView) -> RuleDecision:
    """The first matching rule's decision (the integration's rules before global ones), else the default."""
    for rule in ordered(rules, alert.integration_id):
        if matches(rule, alert):
            return RuleDecision(rule.outcome, rule.id, rule.name, rule.ticket_type_id, rule.priority,
                                rule.assign_to_id)
    return DEFAULT
