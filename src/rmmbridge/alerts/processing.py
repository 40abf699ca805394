"""Turn stored alert events into ticket actions: facts → decide → open / note / close, idempotently."""

from __future__ import annotations

import contextvars
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rmmbridge.alerts import noise_apply
from rmmbridge.alerts.decide import (
    Action,
    CloseBehaviour,
    CurrentState,
    Decision,
    EventFacts,
    EventKind,
    Policy,
    decide,
)
from rmmbridge.alerts.models import (
    EMAIL_CHANNELS,
    AlertEvent,
    AlertingConfig,
    AlertState,
    Channel,
    EmailRule,
    EventStatus,
)
from rmmbridge.alerts.noise_models import policy_for
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.records import AlertState as RemoteState
from rmmbridge.connectors.records import RemoteAlert
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AssetType, AuditSource, Customer, EndUser, Site
from rmmbridge.tickets.actions import (
    do_add_note,
    do_close_ticket,
    do_create_ticket_type,
    do_open_ticket,
    do_reopen_ticket,
)
from rmmbridge.tickets.choices import OPEN_STATUSES, TicketSource
from rmmbridge.tickets.models import Ticket, TicketType, worked_by_person

log = logging.getLogger(__name__)

DEFAULT_TICKET_TYPE = "RMM Alert"
MAIL_SCOPE = "mail"

#: Set while the pipeline itself closes a ticket (resolved in the RMM): no resolve is sent back.
closing_from_rmm: contextvars.ContextVar[bool] = contextvars.ContextVar("closing_from_rmm", default=False)

#: Vendor severity labels → ticket priority; any other label keeps the ticket type's default priority (the label
#: itself stays on the alert and in the ticket details). Atera says "Warning", NinjaOne "NONE" for none at all.
SEVERITY_PRIORITY = {
    "critical": 1, "high": 2, "major": 2, "moderate": 3, "medium": 3, "warning": 3, "minor": 4, "low": 4,
    "information": 4, "informational": 4, "none": 4,
}
SOURCE_FOR_CHANNEL = {
    Channel.EMAIL: TicketSource.EMAIL, Channel.SMTP: TicketSource.EMAIL, Channel.IMAP: TicketSource.EMAIL,
    Channel.WEBHOOK: TicketSource.WEBHOOK, Channel.POLL: TicketSource.POLL, Channel.TEST: TicketSource.MANUAL,
}


@dataclass(frozen=True)
class AlertFacts:
    """One alert report, normalized from any channel."""

    kind: EventKind
    key: str
    integration: Integration | None
    external_id: str = ""
    occurrence_id: str = ""
    device_external_id: str = ""
    hostname: str = ""
    ip_address: str = ""
    condition: str = ""
    message: str = ""
    summary: str = ""
    details: str = ""
    severity: str = ""
    ticket_type: TicketType | None = None
    report_only: bool = False
    #: The asset already looked up for these facts (`asset_checked` tells None = "no asset" from "not looked").
    asset: Asset | None = None
    asset_checked: bool = False
    #: When the sender says the event happened (a trigger older than the alert's resolution reopens nothing).
    occurred_at: datetime | None = None
    #: How a close from this report was checked (shown in the closing note; "Unverified close: …" when not).
    verification: str = ""


@dataclass(frozen=True)
class AlertResult:
    """What happened to one alert of an event."""

    key: str
    action: str
    reason: str
    ticket_id: int | None = None


@dataclass
class Outcome:
    """What processing one event did: its final status and reason, and each alert's result."""

    event_id: int
    status: str
    reason: str
    ticket_id: int | None = None
    results: list[AlertResult] = field(default_factory=list)
    #: The HTTP answer a webhook sender gets when it is not 202 (a refused body: 400 or 413).
    http_status: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id, "status": self.status, "reason": self.reason, "ticket_id": self.ticket_id,
            "results": [r.__dict__ for r in self.results],
        }


class RejectEvent(Exception):
    """The event cannot be turned into alerts; the message says why (kept on the event)."""

    def __init__(self, status: str, reason: str, ticket_id: int | None = None, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.ticket_id = ticket_id
        self.http_status = http_status


# Storing -------------------------------------------------------------------------------------------


def store_event(
    channel: str,
    raw: bytes,
    *,
    headers: dict[str, str] | None = None,
    integration: Integration | None = None,
    message_id: str = "",
    summary: str = "",
) -> AlertEvent:
    """Store an event raw, committed before any processing (nothing is lost if processing fails)."""
    return AlertEvent.objects.create(
        channel=channel,
        integration=integration,
        received_at=utcnow(),
        raw=raw,
        headers=dict(headers or {}),
        message_id=message_id[:255],
        summary=summary[:255],
        status=EventStatus.PENDING,
    )


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """Text any database stores: lone surrogates and NUL characters replaced (PostgreSQL refuses both)."""
    return _UNSTORABLE.sub("\ufffd", text)


def _finish(event: AlertEvent, outcome: Outcome) -> Outcome:
    event.status = outcome.status
    notes = event.intake_notes
    event.reason = storable(outcome.reason + (notes if notes and notes not in outcome.reason else ""))[:5000]
    event.summary = storable(event.summary or "")[:255]
    event.message_id = storable(event.message_id or "")[:255]
    event.ticket_id = outcome.ticket_id
    event.processed_at = utcnow()
    if outcome.results and not event.alert_key:
        event.alert_key = outcome.results[0].key[:255]
    event.save(update_fields=["status", "reason", "ticket", "processed_at", "alert_key", "summary", "rule",
                              "message_id", "integration"])
    return outcome


def process_event(event: AlertEvent) -> Outcome:
    """Process one stored event; safe to call again (an already processed event is not applied twice).

    Reading the event (which may ask the RMM's API) happens outside any transaction; only applying its facts
    opens one, short and without network calls.
    """
    prepared = prepare_event(event)
    if isinstance(prepared, Outcome):
        return prepared
    return apply_prepared(event, prepared)


def prepare_event(event: AlertEvent) -> Outcome | list[AlertFacts]:
    """The facts of a stored event (no transaction; may call the RMM), or its final outcome when it has none.

    A poison event (one that cannot be read at all) is finished as an error with its reason; it never stops
    the events after it.
    """
    if event.status not in (EventStatus.PENDING, EventStatus.ERROR):
        return Outcome(int(event.pk), event.status, f"Already {event.status}: {event.reason}", event.ticket_id)
    try:
        return _facts_for(event)
    except RejectEvent as exc:
        return _finish(event, Outcome(int(event.pk), exc.status, exc.reason, exc.ticket_id,
                                      http_status=exc.http_status))
    except Exception as exc:
        log.exception("alert event %s could not be read", event.pk)
        return _finish(event, Outcome(int(event.pk), EventStatus.ERROR, f"Could not read the event: {exc!r}"[:2000]))


def apply_prepared(event: AlertEvent, facts_list: list[AlertFacts]) -> Outcome:
    """Apply the facts of one event (each alert in its own short transaction; no network calls)."""
    if len(facts_list) == 1:
        return _process_single(event, facts_list[0])
    results: list[AlertResult] = []
    try:
        for facts in facts_list:
            results.append(apply_facts(facts, channel=event.channel))
    except Exception as exc:
        log.exception("alert event %s failed", event.pk)
        done = "; ".join(f"{r.key}: {r.action}" for r in results)
        reason = f"Processing failed: {exc}" + (f" (already applied: {done})" if done else "")
        return _finish(event, Outcome(int(event.pk), EventStatus.ERROR, reason, results=results))
    return _finish(event, _summarise(event, results))


def _process_single(event: AlertEvent, facts: AlertFacts) -> Outcome:
    """One alert: its ticket change and the event's new status commit together (retried once on a race)."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                result = _apply(facts, event.channel)
                return _finish(event, _summarise(event, [result]))
        except IntegrityError:
            if attempt:
                log.exception("alert event %s failed", event.pk)
                return _finish(event, Outcome(int(event.pk), EventStatus.ERROR,
                                              "Processing failed: a concurrent change; process it again."))
        except Exception as exc:
            log.exception("alert event %s failed", event.pk)
            return _finish(event, Outcome(int(event.pk), EventStatus.ERROR, f"Processing failed: {exc}"))
    raise AssertionError("unreachable")


def _summarise(event: AlertEvent, results: list[AlertResult]) -> Outcome:
    ticket_id = next((r.ticket_id for r in results if r.ticket_id), None)
    if not results:
        return Outcome(int(event.pk), EventStatus.PROCESSED, "The event holds no alert.", None)
    if len(results) == 1:
        only = results[0]
        status = EventStatus.REJECTED if only.action == "rejected" else EventStatus.PROCESSED
        reason = f"{_action_label(only.action)}: {only.reason}"
    else:
        status = EventStatus.PROCESSED
        why: dict[str, dict[str, int]] = {}
        for r in results:
            reasons = why.setdefault(r.action, {})
            reasons[r.reason] = reasons.get(r.reason, 0) + 1
        reason = "; ".join(_counted_action(action, why[action]) for action in sorted(why))
    return Outcome(int(event.pk), status, reason, ticket_id, results)


def _counted_action(action: str, reasons: dict[str, int]) -> str:
    """'4 ignored (already has an open ticket ×3; …)': how many alerts had this outcome, and why."""
    total = sum(reasons.values())
    shown = sorted(reasons.items(), key=lambda item: -item[1])[:3]
    because = "; ".join(f"{text} ×{n}" if n > 1 else text for text, n in shown if text)
    more = f"; and {len(reasons) - 3} other reason(s)" if len(reasons) > 3 else ""
    return f"{total} {_action_label(action).lower()}" + (f" ({because}{more})" if because else "")


def _action_label(action: str) -> str:
    return {
        Action.OPEN_TICKET.value: "Ticket opened", Action.APPEND_NOTE.value: "Note added",
        Action.CLOSE.value: "Ticket closed", Action.IGNORE.value: "Ignored", "rejected": "No ticket",
        "suppressed": "Suppressed",
    }.get(action, action)


# Facts from each channel -------------------------------------------------------------------------------


def _facts_for(event: AlertEvent) -> list[AlertFacts]:
    if event.channel in EMAIL_CHANNELS:
        return _email_facts(event)
    if event.channel == Channel.WEBHOOK:
        from rmmbridge.alerts.intake.webhooks import webhook_facts

        return webhook_facts(event)
    if event.channel == Channel.POLL:
        from rmmbridge.alerts.polling import poll_facts

        return poll_facts(event)
    if event.channel == Channel.TEST:
        return _test_facts(event)
    raise RejectEvent(EventStatus.ERROR, f"Unknown channel '{event.channel}'.")


_TIMESTAMPISH = re.compile(
    r"\b\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}(:\d{2})?\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{10,13}\b"
)


def condition_key(device: str, condition: str) -> str:
    """The visible key for an alert without an RMM id: 'device + condition', timestamps and counters removed."""
    cleaned = _TIMESTAMPISH.sub("", condition)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" -:,").lower()
    return f"{device.strip().lower() or 'unknown device'} + {cleaned or 'unknown condition'}"[:255]


def _email_facts(event: AlertEvent) -> list[AlertFacts]:
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

    with connection.cursor() as cursor:
        cursor.execute(_SQL_EARLIER, [*(c.value for c in EMAIL_CHANNELS), message_id, event_id,
                                      EventStatus.PENDING.value, EventStatus.ERROR.value])
        row = cursor.fetchone()
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


def _test_facts(event: AlertEvent) -> list[AlertFacts]:
    integration = event.integration
    if integration is None:
        raise RejectEvent(EventStatus.ERROR, "A test event needs an integration.")
    return [AlertFacts(
        kind=EventKind.TRIGGER,
        key=f"test-{event.pk}",
        integration=integration,
        occurrence_id=f"test-{event.pk}",
        condition="Test alert",
        message=f"Test ticket created from the alerting setup of {integration.name}.",
        summary=f"Test alert from {integration.name}",
    )]


# Applying ------------------------------------------------------------------------------------------------


CHANNEL_WORDS = {"email": "e-mail", "smtp": "e-mail", "imap": "e-mail", "webhook": "webhook", "poll": "polling",
                 "test": "a test from the alerting setup"}


def alert_actor(channel: str) -> Actor:
    """Who acted on a ticket for an alert, as the ticket history reads it: 'RMM alert via polling'."""
    return Actor(AuditSource.ALERT, None, f"RMM alert via {CHANNEL_WORDS.get(channel, channel)}")


def config_for(integration: Integration | None) -> AlertingConfig | None:
    """The integration's alerting options (cached briefly; saved changes clear the cache at once)."""
    if integration is None:
        return None
    key = f"config:{integration.pk}"
    now = time.monotonic()
    hit = _CACHE.get(key) if _CACHE_ON else None
    if hit is not None and hit[0] > now:
        cached: AlertingConfig | None = hit[1]
        return cached
    config = AlertingConfig.objects.select_related("ticket_type", "new_alert_user", "new_alert_user__site",
                                                   "new_alert_user__customer").filter(integration=integration).first()
    if _CACHE_ON:
        _CACHE[key] = (now + CACHE_SECONDS, config)
    return config


#: Long-running intake (the SMTP receiver) caches rules and alerting options this long; saves in the same
#: process clear the cache at once, saves elsewhere (the web UI) apply within CACHE_SECONDS.
CACHE_SECONDS = 5.0
CACHE_MAX_ENTRIES = 20_000
_CACHE: dict[str, tuple[float, Any]] = {}
_CACHE_ON = False


def use_cache(enabled: bool) -> None:
    """Switch the rules/options cache on (a long-running receiver) or off (the default)."""
    global _CACHE_ON
    _CACHE_ON = enabled
    _CACHE.clear()


def clear_cache(*args: Any, **kwargs: Any) -> None:
    """Drop cached rules and alerting options (connected to their post_save/post_delete signals)."""
    _CACHE.clear()


def cached_rules() -> list[EmailRule]:
    now = time.monotonic()
    hit = _CACHE.get("rules") if _CACHE_ON else None
    if hit is not None and hit[0] > now:
        cached: list[EmailRule] = hit[1]
        return cached
    rules = list(EmailRule.objects.select_related("integration", "ticket_type"))
    if _CACHE_ON:
        _CACHE["rules"] = (now + CACHE_SECONDS, rules)
    return rules


@dataclass(frozen=True)
class Target:
    """Where a new ticket goes."""

    customer: Customer
    site: Site | None
    end_user: EndUser | None
    asset: Asset | None


def find_asset(facts: AlertFacts) -> Asset | None:
    """The asset by the alert's device id (ExternalRef), else by hostname or IP within the integration's assets.

    Each step is one indexed SQL probe that reads the asset itself (the hot path of alert intake); its customer,
    site, end user and type come from `_with_related`.
    """
    from django.db import connection

    integration = facts.integration
    if integration is not None and facts.device_external_id:
        found = _first_asset(_SQL_BY_REF, [integration.pk, RefKind.ASSET.value, facts.device_external_id])
        if found is not None:
            return found
    host = facts.hostname.strip()
    hosts = [h for h in dict.fromkeys((host, host.split(".")[0])) if h]
    by_value = _SQL_BY_VALUE_PG if connection.vendor == "postgresql" else _SQL_BY_VALUE_SQLITE
    # In order: exact name (the full hostname before the short one), name ignoring case, hostname field, IP.
    probes: list[tuple[str, list[Any]]] = [(_SQL_BY_NAME, [h]) for h in hosts]
    probes += [(_SQL_BY_NAME_ICASE, [h]) for h in hosts]
    probes += [(by_value, ["hostname", h]) for h in hosts]
    if facts.ip_address:
        probes.append((by_value, ["ip_address", facts.ip_address]))
    for sql, params in probes:
        if integration is not None:
            found = _first_asset(sql + _SQL_OWN, [*params, integration.pk, RefKind.ASSET.value])
        else:
            found = _first_asset(sql + _SQL_ANY, params)
        if found is not None:
            return found
    return None


def _first_asset(sql: str, params: list[Any]) -> Asset | None:
    found = next(iter(Asset.objects.raw(sql, params)), None)
    return _with_related(found) if found is not None else None


def _with_related(asset: Asset) -> Asset | None:
    """The asset with its customer, site, end user and type.

    In a long-running receiver those four come from the cache (few rows shared by many assets; saves and deletes
    in this process clear it, other processes' changes apply within CACHE_SECONDS); elsewhere one joined read.
    """
    if not _CACHE_ON:
        return (Asset.objects.select_related("customer", "site", "end_user", "asset_type")
                .filter(pk=asset.pk, active=True).first())
    for name, model in (("customer", Customer), ("site", Site), ("end_user", EndUser), ("asset_type", AssetType)):
        related_id = getattr(asset, f"{name}_id")
        if related_id is not None:
            setattr(asset, name, _cached_row(model, related_id))
    return asset


def _cached_row(model: Any, pk: int) -> Any:
    key = f"{model._meta.label}:{pk}"
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = model.objects.get(pk=pk)
    if len(_CACHE) > CACHE_MAX_ENTRIES:
        _CACHE.clear()
    _CACHE[key] = (now + CACHE_SECONDS, row)
    return row


def _one(sql: str, params: list[Any]) -> int | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


_ASSETS = Asset._meta.db_table
_REFS = ExternalRef._meta.db_table
_SQL_BY_REF = (
    f"SELECT a.* FROM {_ASSETS} a JOIN {_REFS} r ON r.object_id = a.id "
    "WHERE r.integration_id = %s AND r.kind = %s AND r.external_id = %s AND a.active LIMIT 1"
)
_SQL_BY_NAME = f"SELECT a.* FROM {_ASSETS} a WHERE a.active AND a.name = %s"
_SQL_BY_NAME_ICASE = f"SELECT a.* FROM {_ASSETS} a WHERE a.active AND UPPER(a.name) = UPPER(%s)"
_SQL_BY_VALUE_SQLITE = (
    f"SELECT a.* FROM {_ASSETS} a WHERE a.active AND JSON_EXTRACT(a.\"values\", '$.' || %s) = %s"
)
_SQL_BY_VALUE_PG = f"SELECT a.* FROM {_ASSETS} a WHERE a.active AND (a.\"values\" ->> %s) = %s"
#: Only the integration's own assets (an indexed probe of ExternalRef (kind, object_id) per candidate).
_SQL_OWN = (
    f" AND EXISTS (SELECT 1 FROM {_REFS} r WHERE r.integration_id = %s AND r.kind = %s "
    "AND r.object_id = a.id) ORDER BY a.id LIMIT 1"
)
_SQL_ANY = " ORDER BY a.id LIMIT 1"
_SQL_STATE = f"SELECT id FROM {AlertState._meta.db_table} WHERE scope = %s AND \"key\" = %s"


def find_target(facts: AlertFacts, config: AlertingConfig | None) -> Target | None:
    asset = facts.asset if facts.asset_checked else find_asset(facts)
    fallback = config.new_alert_user if config is not None else None
    if asset is not None:
        end_user = asset.end_user
        if end_user is None and fallback is not None and fallback.customer_id == asset.customer_id:
            end_user = fallback
        return Target(asset.customer, asset.site, end_user, asset)
    if fallback is not None:
        return Target(fallback.customer, fallback.site, fallback, None)
    return None


def default_ticket_type() -> TicketType:
    existing = TicketType.objects.filter(name__iexact=DEFAULT_TICKET_TYPE).first()
    if existing is not None:
        return existing
    return do_create_ticket_type(Actor.system("alerts"), DEFAULT_TICKET_TYPE)


def _details(facts: AlertFacts, target: Target) -> str:
    lines = [facts.details or facts.message]
    lines.append("")
    lines.append("— RMM alert —")
    if facts.integration is not None:
        lines.append(f"Integration: {facts.integration.name} ({facts.integration.vendor})")
    if facts.external_id:
        lines.append(f"Alert id: {facts.external_id}")
    if facts.condition:
        lines.append(f"Condition: {facts.condition}")
    if facts.severity:
        lines.append(f"Severity: {facts.severity}")
    if facts.message and facts.details and facts.message != facts.details:
        lines.append(f"Message: {facts.message}")
    lines.append("")
    lines.append("— Device —")
    asset = target.asset
    if asset is not None:
        lines.append(f"Asset: {asset} (#{asset.pk}), {asset.asset_type.name}")
        lines.append(f"Site: {asset.site.name}")
        for key in ("hostname", "ip_address", "os", "serial_number", "manufacturer", "model", "last_seen"):
            value = asset.values.get(key)
            if value not in (None, ""):
                lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    else:
        lines.append("No asset matched this device.")
    if facts.hostname:
        lines.append(f"Reported hostname: {facts.hostname}")
    if facts.ip_address:
        lines.append(f"Reported IP address: {facts.ip_address}")
    if facts.device_external_id:
        lines.append(f"RMM device id: {facts.device_external_id}")
    return "\n".join(lines).strip()


def _summary(facts: AlertFacts) -> str:
    text = facts.summary or (f"{facts.hostname}: {facts.message}" if facts.hostname else facts.message)
    text = " ".join((text or facts.key).split())
    return text[:255] or "RMM alert"


def _current(state: AlertState | None) -> tuple[CurrentState, Ticket | None]:
    if state is None:
        return CurrentState(), None
    ticket = state.ticket
    ticket_open = ticket is not None and ticket.status in OPEN_STATUSES
    return CurrentState(
        exists=True,
        ticket_open=ticket_open,
        has_ticket=ticket is not None,
        resolved=state.resolved_at is not None,
        worked_by_person=bool(ticket_open and ticket is not None and worked_by_person(ticket)),
        last_occurrence_id=state.last_occurrence_id,
        closed_here=state.closed_here,
    ), ticket


def apply_facts(facts: AlertFacts, *, channel: str) -> AlertResult:
    """Decide and apply one alert report in one transaction (retried once on a concurrent first insert)."""
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _apply(facts, channel)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _apply(facts: AlertFacts, channel: str) -> AlertResult:
    config = config_for(facts.integration)
    scope = str(facts.integration.pk) if facts.integration is not None else MAIL_SCOPE
    # A cheap indexed probe first: most alerts are new, and then the locking ORM read is skipped (a concurrent
    # first insert of the same key fails on the unique constraint and is retried by the caller).
    state = (
        AlertState.objects.select_for_update(of=("self",)).select_related("ticket")
        .filter(scope=scope, key=facts.key).first()
        if _one(_SQL_STATE, [scope, facts.key]) is not None else None
    )
    current, ticket = _current(state)
    if (facts.kind is EventKind.TRIGGER and state is not None and state.resolved_at is not None
            and facts.occurred_at is not None and facts.occurred_at <= state.resolved_at):
        return AlertResult(facts.key, Action.IGNORE.value,
                           f"The event ({facts.occurred_at:%Y-%m-%d %H:%M:%S} UTC) is older than the alert's "
                           f"resolution ({state.resolved_at:%Y-%m-%d %H:%M:%S} UTC); nothing reopened.",
                           ticket.pk if ticket is not None else None)
    target: Target | None = None
    needs_target = current.ticket_open is False and (not facts.report_only or not current.exists)
    if facts.kind is EventKind.TRIGGER and needs_target:
        target = find_target(facts, config)
    policy = Policy(
        enabled=config.enabled if config is not None else facts.integration is None,
        close_behaviour=CloseBehaviour(config.close_behaviour) if config is not None else CloseBehaviour.CLOSE,
    )
    event_facts = EventFacts(
        kind=facts.kind,
        key=facts.key,
        occurrence_id=facts.occurrence_id,
        has_target=target is not None or facts.kind is EventKind.RESOLVE or current.ticket_open,
        report_only=facts.report_only,
    )
    decision = decide(event_facts, current, policy)
    now = utcnow()
    actor = alert_actor(channel)
    held = _maintenance_hold(facts, target, config, channel, now) if decision.action is Action.OPEN_TICKET else None
    if held is not None:  # noise control: a maintenance window records the alert and opens no ticket yet
        decision = Decision(Action.IGNORE, held[0].reason)
        if state is None:
            state = AlertState(scope=scope, key=facts.key, integration=facts.integration, first_seen=now)
    if decision.action is Action.OPEN_TICKET:
        assert target is not None
        ticket, decision = _open_or_count_flap(facts, target, config, channel, actor, scope, now, decision)
        if state is None:
            state = AlertState(scope=scope, key=facts.key, integration=facts.integration, first_seen=now)
        state.ticket = ticket
        state.occurrences = 1
        state.resolved_at = None
        state.closed_here = False
    elif decision.action is Action.APPEND_NOTE:
        assert state is not None
        assert ticket is not None
        if decision.count_occurrence:
            do_add_note(actor, ticket, _occurrence_note(facts), count_occurrence=True)
            state.occurrences += 1
        else:
            do_add_note(actor, ticket, _resolve_note(facts, closing=False))
    elif decision.action is Action.CLOSE:
        assert state is not None
        assert ticket is not None
        if state.resolved_at is not None and noise_apply.shared_by_flap(ticket):
            # an earlier alert of a condition whose ticket was reopened by a new one: already resolved
            decision = Decision(Action.IGNORE, "the alert is already resolved; its condition's ticket is open again")
        elif noise_apply.hold_close(ticket, now) is not None:  # flapping: closes after the quiet time
            do_add_note(actor, ticket, _resolve_note(facts, closing=False))
            decision = Decision(Action.APPEND_NOTE, "resolved while flapping; the ticket closes after the quiet time",
                                mark_resolved=True)
        else:
            token = closing_from_rmm.set(True)
            try:
                do_close_ticket(actor, ticket, note=_resolve_note(facts, closing=True))
            finally:
                closing_from_rmm.reset(token)
    elif decision.action is Action.IGNORE and state is None:
        reason = decision.reason
        status = "rejected" if facts.kind is EventKind.TRIGGER and not event_facts.has_target else "ignore"
        if not policy.enabled:
            status = "rejected"
        return AlertResult(facts.key, status, reason, None)
    assert state is not None
    if decision.mark_resolved and state.resolved_at is None:
        state.resolved_at = now
    state.last_seen = now
    if facts.kind is EventKind.TRIGGER and facts.occurrence_id and not facts.report_only:
        state.last_occurrence_id = facts.occurrence_id[:255]
    if facts.external_id:
        state.external_id = facts.external_id[:255]
    if facts.device_external_id:
        state.device_external_id = facts.device_external_id[:255]
    if facts.hostname:
        state.hostname = facts.hostname[:255]
    if facts.kind is EventKind.TRIGGER and facts.message:
        state.message = facts.message[:5000]
    state.save()
    if held is not None:
        noise_apply.hold(state, None, held[0], held[1], now)
        return AlertResult(facts.key, "suppressed", held[0].reason, None)
    return AlertResult(facts.key, decision.action.value, decision.reason, ticket.pk if ticket is not None else None)


def _open_or_count_flap(facts: AlertFacts, target: Target, config: AlertingConfig | None, channel: str,
                        actor: Actor, scope: str, now: datetime, decision: Decision) -> tuple[Ticket, Decision]:
    """Open the alert's ticket, or (flap damping) reopen and count the one its condition opened lately."""
    policy = policy_for(facts.integration)
    key = noise_apply.flap_key(scope, facts.device_external_id or facts.hostname, facts.condition or facts.message)
    reused = noise_apply.reuse_for_flap(key, now, policy)
    if reused is None:
        ticket = _open(facts, target, config, channel, actor)
    else:
        ticket = reused[0]
        if ticket.closed_at is not None:
            ticket = do_reopen_ticket(actor, ticket, note="The condition is back within the flap window.")
        do_add_note(actor, ticket, _occurrence_note(facts), count_occurrence=True)
        decision = Decision(Action.APPEND_NOTE, "the condition is back within the flap window; counted on its ticket",
                            count_occurrence=True)
    noise_apply.count_open(key, ticket, now, policy)
    return ticket, decision


def _maintenance_hold(facts: AlertFacts, target: Target | None, config: AlertingConfig | None, channel: str,
                      now: datetime) -> tuple[noise_apply.Hold, dict[str, Any]] | None:
    """The maintenance window holding this new alert, and the ticket to open when it ends (None: not held)."""
    if target is None:
        return None
    asset = target.asset
    found = noise_apply.window_for(target.customer.pk, target.site.pk if target.site is not None else None,
                                   asset.pk if asset is not None else None, facts.occurred_at or now)
    if found is None:
        return None
    ticket_type = facts.ticket_type or (config.ticket_type if config is not None else None) or default_ticket_type()
    return found, {
        "summary": _summary(facts), "details": _details(facts, target), "ticket_type": ticket_type.pk,
        "customer": target.customer.pk, "site": target.site.pk if target.site is not None else None,
        "end_user": target.end_user.pk if target.end_user is not None else None,
        "asset": asset.pk if asset is not None else None,
        "priority": SEVERITY_PRIORITY.get(facts.severity.strip().lower()) if facts.severity else None,
        "source": SOURCE_FOR_CHANNEL.get(Channel(channel), TicketSource.MANUAL),
    }


def _open(facts: AlertFacts, target: Target, config: AlertingConfig | None, channel: str, actor: Actor) -> Ticket:
    ticket_type = facts.ticket_type or (config.ticket_type if config is not None else None) or default_ticket_type()
    priority = SEVERITY_PRIORITY.get(facts.severity.strip().lower()) if facts.severity else None
    try:
        return do_open_ticket(
            actor,
            summary=_summary(facts),
            details=_details(facts, target),
            ticket_type=ticket_type,
            customer=target.customer,
            site=target.site,
            end_user=target.end_user,
            assets=[target.asset] if target.asset is not None else (),
            priority=priority,
            source=SOURCE_FOR_CHANNEL.get(Channel(channel), TicketSource.MANUAL),
            alert_key=facts.key,
        )
    except ValidationError as exc:
        raise ValueError("; ".join(exc.messages)) from exc


def _occurrence_note(facts: AlertFacts) -> str:
    when = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    return f"The alert occurred again ({when}): {(facts.message or facts.summary)[:2000]}"


def _resolve_note(facts: AlertFacts, *, closing: bool) -> str:
    vendor = facts.integration.name if facts.integration is not None else "the RMM"
    base = f"The alert was resolved in {vendor}"
    if facts.message:
        base += f": {facts.message[:2000]}"
    base += "." if closing else ". The ticket stays open because a person has worked it."
    return f"{base}\n{facts.verification}" if facts.verification else base


# Convenience entry points -------------------------------------------------------------------------


def ingest_email(raw: bytes, *, channel: str = Channel.EMAIL) -> Outcome:
    """Store a raw e-mail, then process it; returns the outcome (ticket id, or why no ticket)."""
    event = store_event(channel, raw)
    return process_event(event)


def process_pending(limit: int = 500, channels: Sequence[str] | None = None) -> list[Outcome]:
    """Process stored events still pending (e.g. after a crash between store and process)."""
    query = AlertEvent.objects.filter(status=EventStatus.PENDING).order_by("id")
    if channels:
        query = query.filter(channel__in=channels)
    outcomes: list[Outcome] = []
    for event in query[:limit]:
        try:
            outcomes.append(process_event(event))
        except Exception as exc:  # a poison event is marked failed with its reason; the next ones still run
            log.exception("alert event %s failed", event.pk)
            reason = storable(f"Processing failed: {exc!r}")[:5000]
            AlertEvent.objects.filter(pk=event.pk).update(status=EventStatus.ERROR, reason=reason,
                                                          processed_at=utcnow())
            outcomes.append(Outcome(int(event.pk), EventStatus.ERROR, reason))
    return outcomes


def create_test_ticket(integration: Integration) -> Outcome:
    """The 'Create test ticket' button: a synthetic alert through the same pipeline."""
    event = store_event(Channel.TEST, b'{"test": true}', integration=integration,
                        summary=f"Test alert from {integration.name}")
    return process_event(event)
