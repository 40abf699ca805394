"""Facts of a stored e-mail event: rule match, vendor reading, duplicate check, verified recovery, RMM device."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Any

from rmmbridge.alerts.cache import cached_rules, config_for
from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.facts.base import AlertFacts, RejectEvent, condition_key
from rmmbridge.alerts.lookup import find_asset
from rmmbridge.alerts.models import EMAIL_CHANNELS, AlertEvent, AlertState, EventStatus
from rmmbridge.common.kept_cursor import fetch_one
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.records import AlertState as RemoteState
from rmmbridge.connectors.records import RemoteAlert
from rmmbridge.integrations.models import Integration

log = logging.getLogger(__name__)


def email_facts(event: AlertEvent) -> list[AlertFacts]:
    """Facts of a stored e-mail: the first matching e-mail rule says which integration and how to read it."""
    from rmmbridge.alerts.intake.email import parse_email
    from rmmbridge.alerts.intake.rules import datto_condition, match_rules

    raw = bytes(event.raw)
    mail = parse_email(raw)
    event.message_id = mail.message_id
    event.summary = (mail.subject or "(no subject)")[:255]
    problems = f" Notes on the message: {'; '.join(mail.problems)}." if mail.problems else ""
    event.intake_notes = problems
    earlier = _earlier_copy(mail.message_id, int(event.pk))
    if earlier is not None:
        raise RejectEvent(EventStatus.DUPLICATE,
                          f"Same Message-ID {mail.message_id} as event #{earlier[0]}; not processed again.",
                          earlier[1])
    match = match_rules(mail, cached_rules())
    event.rule = match.rule
    if match.status == "unmatched":
        raise RejectEvent(EventStatus.UNMATCHED, match.reason + problems)
    if match.status == "rejected":
        raise RejectEvent(EventStatus.REJECTED, match.reason + problems)
    rule = match.rule
    assert rule is not None
    if rule.action == "ignore":
        raise RejectEvent(EventStatus.PROCESSED, f"Rule '{rule.name}' says to ignore this mail.")
    integration = rule.integration
    event.integration = integration
    fields = match.fields
    hostname = fields.get("hostname", "")
    ip = fields.get("ip_address", "")
    condition = fields.get("condition") or datto_condition(mail.subject) or mail.subject
    recovery = match.recovery
    vendor_alert = _vendor_mail_alert(integration, mail.subject, mail.body)
    if vendor_alert is not None:
        # The vendor's own reading of its alert mail (e.g. Automate: computer + monitor, FAILED/SUCCESS).
        hostname = vendor_alert.hostname or hostname
        condition = vendor_alert.alert_type or condition
        recovery = recovery or vendor_alert.state == RemoteState.RESOLVED
    key = match.alert_id or condition_key(hostname or ip or fields.get("device_id", ""), condition)
    body = mail.body.strip()
    details = fields.get("details") or body[:20000]
    facts = AlertFacts(
        kind=EventKind.RESOLVE if recovery else EventKind.TRIGGER,
        key=key,
        integration=integration,
        external_id=match.alert_id,
        occurrence_id=mail.message_id,
        device_external_id=fields.get("device_id", ""),
        hostname=hostname,
        ip_address=ip,
        condition=condition,
        message=body[:5000] or mail.subject,
        summary=fields.get("summary") or mail.subject or condition,
        details=details,
        ticket_type=rule.ticket_type,
    )
    if facts.kind is EventKind.RESOLVE:
        return [_verified_recovery(facts, mail.headers)]
    return [_with_rmm_device(facts)]


_DMARC_PASS = re.compile(r"(?i)\bdmarc\s*=\s*pass\b")


def _verified_recovery(facts: AlertFacts, headers: dict[str, str]) -> AlertFacts:
    """A recovery e-mail closes a ticket only when it can be trusted (a From header is easy to forge).

    First the RMM's API is asked whether the alert is still open (outside any transaction); where it cannot
    say, the receiving MTA's Authentication-Results (dmarc=pass) decides when the admin switched that on;
    otherwise the close goes ahead and its note says it is unverified.
    """
    integration = facts.integration
    asked = ""
    if integration is not None and facts.external_id:
        answer = _rmm_says_open(integration, facts.external_id)
        if answer is True:
            raise RejectEvent(EventStatus.REJECTED,
                              f"Recovery e-mail for alert {facts.external_id} not applied: {integration.name} still "
                              "shows the alert open (the mail may be forged); the ticket stays open.")
        if answer is False:
            return replace(facts, verification=f"Close confirmed with {integration.name}'s API (the alert is no "
                                               "longer open there).")
        asked = f"{integration.name}'s API could not confirm it"
    else:
        asked = "the RMM's API cannot read this alert"
    config = config_for(integration)
    if config is not None and config.recovery_needs_dmarc:
        # The receiving MTA adds its Authentication-Results on top: only the first one is trusted.
        first = headers.get("authentication-results", "").split("\n")[0]
        if _DMARC_PASS.search(first):
            return replace(facts, verification="Close verified by the receiving mail server (DMARC pass).")
        raise RejectEvent(EventStatus.REJECTED,
                          f"Recovery e-mail not applied: {asked}, and the mail has no DMARC pass in its "
                          "Authentication-Results (required by the alerting options); the ticket stays open.")
    return replace(facts, verification=f"Unverified close: {asked}, and DMARC is not checked.")


def _rmm_says_open(integration: Integration, external_id: str) -> bool | None:
    """True when the RMM lists the alert as open, False when it does not, None when it cannot be asked."""
    from rmmbridge.connectors.base import Capability
    from rmmbridge.integrations.connect import connector_for

    if not integration.credentials_encrypted:
        return None  # an e-mail-only integration: nothing to ask
    try:
        with connector_for(integration) as connector:
            if not connector.supports(Capability.ALERTS_POLL):
                return None
            return any(alert.external_id == external_id for alert in connector.iter_alerts(RemoteState.OPEN))
    except Exception as exc:  # no credentials, an API error, a timeout: the fallback decides
        log.info("alert %s: could not ask %s whether it is open: %s", external_id, integration.name, exc)
        return None


def _earlier_copy(message_id: str, event_id: int) -> tuple[int, int | None] | None:
    """(event id, ticket id) of an earlier, already handled e-mail event with the same Message-ID."""
    from django.db import connection

    row = fetch_one(connection, _SQL_EARLIER, [*(c.value for c in EMAIL_CHANNELS), message_id, event_id,
                                               EventStatus.PENDING.value, EventStatus.ERROR.value])
    return (int(row[0]), row[1]) if row else None


_SQL_EARLIER = (
    f"SELECT id, ticket_id FROM {AlertEvent._meta.db_table} WHERE channel IN (%s, %s, %s) AND message_id = %s "
    "AND id < %s AND status NOT IN (%s, %s) ORDER BY id LIMIT 1"
)


def _vendor_mail_alert(integration: Integration | None, subject: str, body: str) -> RemoteAlert | None:
    """The vendor's `connectors.<slug>.alerts.parse_alert_email` reading of a matched mail, when it has one."""
    if integration is None:
        return None
    parser = _MAIL_PARSERS.get(integration.vendor)
    if parser is None:
        return None
    try:
        found: RemoteAlert = parser(subject, body)
    except ConnectorError:
        return None  # the rule matched but the vendor's format did not: the rule's markers decide
    return found


def _mail_parsers() -> dict[str, Any]:
    """slug -> the `parse_alert_email` hook its manifest's alerts module defines."""
    from rmmbridge.connectors.registry import MANIFESTS

    return {m.slug: hook for m in MANIFESTS if (hook := m.alert_hook("parse_alert_email")) is not None}


_MAIL_PARSERS: dict[str, Any] = _mail_parsers()


def _with_rmm_device(facts: AlertFacts) -> AlertFacts:
    """For a new e-mail alert whose device matches no asset, ask the RMM which device the alert id is on."""
    integration = facts.integration
    if (integration is None or not facts.external_id or facts.device_external_id
            or facts.kind is not EventKind.TRIGGER):
        return facts
    asset = find_asset(facts)
    if asset is not None:
        return replace(facts, asset=asset, asset_checked=True)
    if AlertState.objects.filter(scope=str(integration.pk), key=facts.key).exists():
        return replace(facts, asset_checked=True)
    from rmmbridge.connectors.base import Capability
    from rmmbridge.integrations.connect import connector_for

    try:
        with connector_for(integration) as connector:
            if not connector.supports(Capability.ALERTS_POLL):
                return facts
            for alert in connector.iter_alerts(RemoteState.OPEN):
                if alert.external_id == facts.external_id:
                    return replace(facts, device_external_id=alert.device_external_id or "",
                                   hostname=facts.hostname or alert.hostname or "")
    except (ConnectorError, ValueError, KeyError) as exc:
        log.info("alert %s: device lookup in %s failed: %s", facts.external_id, integration.name, exc)
    return facts
