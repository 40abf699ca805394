"""Turn stored alert events into ticket actions: facts → decide → open / note / close, idempotently."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction

from rmmbridge.alerts import noise_apply, noise_hooks, storms, ticket_text
from rmmbridge.alerts.cache import config_for, noise_policy
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
from rmmbridge.alerts.event_rules import RuleDecision, RuleOutcome
from rmmbridge.alerts.facts.base import AlertFacts, RejectEvent
from rmmbridge.alerts.facts.email import email_facts
from rmmbridge.alerts.facts.poll import poll_facts
from rmmbridge.alerts.facts.synthetic import test_facts
from rmmbridge.alerts.facts.webhook import webhook_facts
from rmmbridge.alerts.lookup import Target, find_target, state_exists
from rmmbridge.alerts.models import EMAIL_CHANNELS, AlertEvent, AlertState, Channel, EventStatus
from rmmbridge.alerts.noise_models import StormGroup
from rmmbridge.alerts.opening import alert_actor, open_ticket, priority_for, ticket_source, ticket_type_for, with_rule
from rmmbridge.alerts.outcome import AlertResult, Outcome, summarise
from rmmbridge.alerts.rule_store import SUPPRESSED_BY_RULE, SUPPRESSED_NOTE_ONLY, assignee, rule_decision, view_json
from rmmbridge.common.clock import utcnow
from rmmbridge.common.prepared import PreparedQuery, save_fields, save_row
from rmmbridge.integrations.models import Integration
from rmmbridge.tickets.actions import do_add_note, do_close_ticket
from rmmbridge.tickets.choices import OPEN_STATUSES
from rmmbridge.tickets.models import Ticket, worked_by_person

__all__ = ["AlertFacts", "AlertResult", "Outcome", "RejectEvent", "apply_facts", "ingest_email", "prepare_event",
           "process_event", "process_pending", "store_event"]

log = logging.getLogger(__name__)

MAIL_SCOPE = "mail"


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
    ruled = next((r for r in outcome.results if r.rule_view is not None), None)
    if ruled is not None:
        event.event_rule_id = ruled.rule_id
        event.suppressed = ruled.suppressed
        event.rule_view = ruled.rule_view or {}
    save_fields(event, ["status", "reason", "ticket", "processed_at", "alert_key", "summary", "rule", "message_id",
                        "integration", "event_rule", "suppressed", "rule_view"])
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


def apply_prepared(event: AlertEvent, facts_list: list[AlertFacts], *, savepoint: bool = True) -> Outcome:
    """Apply the facts of one event (each alert in its own short transaction; no network calls).

    With `savepoint=False` (the caller's transaction holds several events and redoes each on its own if it
    fails) a single alert is applied without a savepoint of its own, and any failure is raised to the caller.
    """
    if len(facts_list) == 1:
        return _process_single(event, facts_list[0], savepoint=savepoint)
    results: list[AlertResult] = []
    try:
        for facts in facts_list:
            results.append(apply_facts(facts, channel=event.channel))
    except Exception as exc:
        log.exception("alert event %s failed", event.pk)
        done = "; ".join(f"{r.key}: {r.action}" for r in results)
        reason = f"Processing failed: {exc}" + (f" (already applied: {done})" if done else "")
        return _finish(event, Outcome(int(event.pk), EventStatus.ERROR, reason, results=results))
    return _finish(event, summarise(event, results))


def _process_single(event: AlertEvent, facts: AlertFacts, *, savepoint: bool = True) -> Outcome:
    """One alert: its ticket change and the event's new status commit together (retried once on a race)."""
    if not savepoint:
        with transaction.atomic(savepoint=False):
            return _finish(event, summarise(event, [_apply(facts, event.channel)]))
    for attempt in range(2):
        try:
            with transaction.atomic():
                result = _apply(facts, event.channel)
                return _finish(event, summarise(event, [result]))
        except IntegrityError:
            if attempt:
                log.exception("alert event %s failed", event.pk)
                return _finish(event, Outcome(int(event.pk), EventStatus.ERROR,
                                              "Processing failed: a concurrent change; process it again."))
        except Exception as exc:
            log.exception("alert event %s failed", event.pk)
            return _finish(event, Outcome(int(event.pk), EventStatus.ERROR, f"Processing failed: {exc}"))
    raise AssertionError("unreachable")


# Facts from each channel -------------------------------------------------------------------------------


def _facts_for(event: AlertEvent) -> list[AlertFacts]:
    """The facts of a stored event, read by its channel's module under `alerts.facts`."""
    if event.channel in EMAIL_CHANNELS:
        return email_facts(event)
    if event.channel == Channel.WEBHOOK:
        return webhook_facts(event)
    if event.channel == Channel.POLL:
        return poll_facts(event)
    if event.channel == Channel.TEST:
        return test_facts(event)
    raise RejectEvent(EventStatus.ERROR, f"Unknown channel '{event.channel}'.")


# Deciding and applying ------------------------------------------------------------------------------


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


_LOCKED_STATE = PreparedQuery(
    lambda scope, key: AlertState.objects.select_for_update(of=("self",)).select_related("ticket")
    .filter(scope=scope, key=key).order_by("pk")[:1],
    str, str)


def _apply(facts: AlertFacts, channel: str) -> AlertResult:
    config = config_for(facts.integration)
    scope = str(facts.integration.pk) if facts.integration is not None else MAIL_SCOPE
    # A cheap indexed probe first: most alerts are new, and then the locking ORM read is skipped (a concurrent
    # first insert of the same key fails on the unique constraint and is retried by the caller).
    state = _LOCKED_STATE.first(scope, facts.key) if state_exists(scope, facts.key) else None
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
    ruling: RuleDecision | None = None
    seen: dict[str, Any] | None = None
    if decision.action is Action.OPEN_TICKET:
        # Event rules decide what a new alert becomes (the default rule: a ticket, as before).
        ruling, view = rule_decision(facts, target)
        seen = view_json(view)
        if ruling.outcome is not RuleOutcome.OPEN_TICKET:
            suppressed = SUPPRESSED_BY_RULE if ruling.outcome is RuleOutcome.IGNORE else SUPPRESSED_NOTE_ONLY
            return AlertResult(facts.key, Action.IGNORE.value, ruling.reason, None, ruling.rule_id, suppressed,
                               seen)
    now = utcnow()
    actor = alert_actor(channel)
    held = noise_hooks.maintenance_hold(
        facts, target, now, ticket_type=ticket_type_for(facts, config, ruling), priority=priority_for(facts, ruling),
        source=ticket_source(channel),
        assign_to_id=ruling.assign_to_id if ruling is not None else None,
    ) if decision.action is Action.OPEN_TICKET else None
    if held is not None:  # noise control: a maintenance window records the alert and opens no ticket yet
        decision = Decision(Action.IGNORE, held[0].reason)
        if state is None:
            state = AlertState(scope=scope, key=facts.key, integration=facts.integration, first_seen=now)
    storm: StormGroup | None = None
    fresh = False
    if decision.action is Action.OPEN_TICKET:
        assert target is not None
        open_target = target
        storm = storms.active_storm(target, facts)
        parent_ticket = storm.ticket if storm is not None else None
        ticket, decision = noise_hooks.open_or_count_flap(
            facts, scope, now, actor, decision,
            lambda: parent_ticket or open_ticket(facts, open_target, config, channel, actor, ruling))
        fresh = state is None
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
            do_add_note(actor, ticket, ticket_text.occurrence_note(facts), count_occurrence=True)
            state.occurrences += 1
        else:
            do_add_note(actor, ticket, ticket_text.resolve_note(facts, closing=False))
    elif decision.action is Action.CLOSE:
        assert state is not None
        assert ticket is not None
        held_close = noise_hooks.close_or_hold(facts, state, ticket, now, actor)
        if held_close is not None:  # flap damping keeps the ticket open
            decision = held_close
        else:
            # The alert actor tells the outbox this close comes from the RMM: no resolve is sent back.
            do_close_ticket(actor, ticket, note=ticket_text.resolve_note(facts, closing=True))
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
    save_row(state)
    rule_id = ruling.rule_id if ruling is not None else None
    if held is not None:
        noise_apply.hold(state, None, held[0], held[1], now)
        return AlertResult(facts.key, "suppressed", held[0].reason, None, rule_id, "", seen)
    if decision.action is Action.OPEN_TICKET and target is not None and ticket is not None:
        source = ticket_source(channel)
        parent = storms.group(facts, target, state, ticket, now, noise_policy(facts.integration), actor,
                              ticket_type_for(facts, config, ruling), source, assigned_to=assignee(ruling),
                              storm=storm, fresh=fresh)
        if parent.pk != ticket.pk or parent.alert_key.startswith("storm:"):
            return AlertResult(facts.key, Action.OPEN_TICKET.value, "part of a storm: a child of its parent ticket",
                               parent.pk, rule_id, "", seen)
    ticket_id = ticket.pk if ticket is not None else None
    if ruling is not None:
        return AlertResult(facts.key, decision.action.value, with_rule(decision.reason, ruling), ticket_id,
                           ruling.rule_id, "", seen)
    return AlertResult(facts.key, decision.action.value, decision.reason, ticket_id)


# Convenience entry points -------------------------------------------------------------------------


def ingest_email(raw: bytes, *, channel: str = Channel.EMAIL) -> Outcome:
    """Store a raw e-mail, then process it; returns the outcome (ticket id, or why no ticket)."""
    event = store_event(channel, raw)
    return process_event(event)


def process_pending(limit: int = 500, channels: Sequence[str] | None = None, *,
                    received_before: datetime | None = None) -> list[Outcome]:
    """Process stored events still pending (e.g. after a crash between store and process)."""
    query = AlertEvent.objects.filter(status=EventStatus.PENDING).order_by("id")
    if channels:
        query = query.filter(channel__in=channels)
    if received_before is not None:
        query = query.filter(received_at__lt=received_before)
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


#: An event still pending this long after it arrived was stranded (the process that stored it died before processing
#: it, e.g. a mail taken by /intake/mail/ or the SMTP receiver); the scheduler tick processes it then.
STRANDED_AFTER = timedelta(minutes=5)


def process_stranded(now: datetime, limit: int = 200) -> list[Outcome]:
    """Process events stored more than STRANDED_AFTER ago and still pending (no alert is left unread)."""
    return process_pending(limit, received_before=now - STRANDED_AFTER)


def create_test_ticket(integration: Integration) -> Outcome:
    """The 'Create test ticket' button: a synthetic alert through the same pipeline."""
    event = store_event(Channel.TEST, b'{"test": true}', integration=integration,
                        summary=f"Test alert from {integration.name}")
    return process_event(event)
