"""E-mail rules: ordered matching of a parsed mail (from, subject, body, headers) and marker extraction."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from rmmbridge.alerts.intake.email import ParsedEmail
from rmmbridge.alerts.models import EmailRule, FromMatch, RuleAction

MARKER_FIELDS = ("summary", "details", "hostname", "device_id", "condition", "ip_address")
DATTO_SUBJECT = r"Alert\{[^}\s]+\}"
IP_PATTERN = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")


class RuleError(ValueError):
    """A rule's pattern cannot be compiled."""


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    except re.error as exc:
        raise RuleError(f"Pattern {pattern!r} is not a valid regular expression: {exc}.") from exc


def validate_pattern(pattern: str) -> str | None:
    """None when `pattern` compiles, else a message saying what to fix."""
    if not pattern:
        return None
    try:
        compile_pattern(pattern)
    except RuleError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class RuleMatch:
    """The outcome of running the rules over one mail."""

    rule: EmailRule | None
    status: str  # "matched", "unmatched" or "rejected"
    reason: str
    alert_id: str = ""
    recovery: bool = False
    fields: dict[str, str] = field(default_factory=dict)


def _from_ok(rule: EmailRule, address: str) -> bool:
    wanted = rule.from_address.strip().lower()
    if rule.from_match == FromMatch.ANY or not wanted:
        return True
    if rule.from_match == FromMatch.EXACT:
        return address == wanted
    return wanted in address


def _search(pattern: str, text: str) -> re.Match[str] | None:
    return compile_pattern(pattern).search(text) if pattern else None


def extract_markers(markers: Iterable[dict[str, str]], text: str) -> dict[str, str]:
    """Text between each marker pair, for the marker's ticket field (the first occurrence wins)."""
    found: dict[str, str] = {}
    for marker in markers:
        start, end, name = marker.get("start", ""), marker.get("end", ""), marker.get("field", "")
        if not start or name not in MARKER_FIELDS or name in found:
            continue
        begin = text.find(start)
        if begin < 0:
            continue
        begin += len(start)
        end_at = text.find(end.replace("\\n", "\n"), begin) if end else -1
        if end_at < 0:
            newline = text.find("\n", begin)
            end_at = newline if newline >= 0 else len(text)
        value = text[begin:end_at].strip()
        if value:
            found[name] = value[:2000]
    return found


def match_rules(mail: ParsedEmail, rules: Iterable[EmailRule]) -> RuleMatch:
    """Run the enabled rules in order; the first whose criteria all match wins.

    A rule whose subject/body/header criteria match but whose from address does not is remembered: if no
    other rule matches, the mail is rejected with that reason (a spoofed sender opens no ticket).
    """
    spoof: RuleMatch | None = None
    for rule in rules:
        if not rule.enabled:
            continue
        try:
            if rule.subject_pattern and not _search(rule.subject_pattern, mail.subject):
                continue
            if rule.body_pattern and not _search(rule.body_pattern, mail.body):
                continue
            if rule.header_name:
                value = mail.headers.get(rule.header_name.lower())
                if value is None or (rule.header_pattern and not _search(rule.header_pattern, value)):
                    continue
            if not _from_ok(rule, mail.from_address):
                # Only a rule whose content matched makes a wrong sender suspicious; a from-only rule just misses.
                content_matched = bool(rule.subject_pattern or rule.body_pattern or rule.header_name)
                if spoof is None and content_matched:
                    spoof = RuleMatch(
                        rule, "rejected",
                        f"Sender {mail.from_address or '(none)'!s} does not match the from address of rule "
                        f"'{rule.name}' ({rule.get_from_match_display().lower()} {rule.from_address}); "
                        "no ticket opened.",
                    )
                continue
            alert_id = ""
            if rule.alert_id_pattern:
                found = _search(rule.alert_id_pattern, mail.subject) or _search(rule.alert_id_pattern, mail.body)
                if found:
                    alert_id = (found.group(1) if found.groups() else found.group(0)).strip()
            recovery = rule.action == RuleAction.CLOSE_ON_RECOVERY or bool(
                rule.recovery_pattern
                and (_search(rule.recovery_pattern, mail.subject) or _search(rule.recovery_pattern, mail.body))
            )
        except RuleError as exc:
            return RuleMatch(rule, "rejected", f"Rule '{rule.name}' is broken: {exc} Fix the rule; the mail is kept.")
        fields = extract_markers(rule.markers or [], mail.body)
        if "ip_address" not in fields:
            ip = IP_PATTERN.search(mail.subject)
            if ip:
                fields["ip_address"] = ip.group(0)
        return RuleMatch(rule, "matched", f"Matched rule '{rule.name}'.", alert_id=alert_id, recovery=recovery,
                         fields=fields)
    if spoof is not None:
        return spoof
    return RuleMatch(None, "unmatched",
                     f"No e-mail rule matches (from {mail.from_address or '(none)'}, subject "
                     f"{mail.subject[:120]!r}); the mail is kept.")


def datto_condition(subject: str) -> str:
    """The alert reason from a Datto subject 'Alert on device: <ip>, reason <alert> - Alert{<uid>}'."""
    found = re.search(r"reason\s+(.*?)\s*-\s*Alert\{", subject, re.IGNORECASE)
    return found.group(1).strip() if found else ""
