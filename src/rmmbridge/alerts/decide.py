"""Pure decision: given an alert event's facts, the alert's current state and the policy, choose what to do."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    """Whether an event says the condition is (still) happening or has recovered."""

    TRIGGER = "trigger"
    RESOLVE = "resolve"


class Action(StrEnum):
    """What the pipeline does with one event."""

    OPEN_TICKET = "open_ticket"
    APPEND_NOTE = "append_note"
    CLOSE = "close"
    IGNORE = "ignore"


class CloseBehaviour(StrEnum):
    """What a resolve in the RMM does to the ticket."""

    CLOSE = "close"
    NOTE_IF_WORKED = "note_if_worked"


@dataclass(frozen=True, slots=True)
class EventFacts:
    """What one event says about one alert (consolidation key + occurrence)."""

    kind: EventKind
    key: str
    #: Identifies this report of the condition (Message-ID, webhook activity id, poll alert id + raise time).
    occurrence_id: str = ""
    #: A customer to put a new ticket on was found (asset's customer or the integration's New Alert User).
    has_target: bool = True
    #: A status report (a poll listing the alert as open), not a new occurrence of the condition.
    report_only: bool = False


@dataclass(frozen=True, slots=True)
class CurrentState:
    """The stored state of the alert with this key; `exists=False` when never seen."""

    exists: bool = False
    ticket_open: bool = False
    has_ticket: bool = False
    resolved: bool = False
    worked_by_person: bool = False
    last_occurrence_id: str = ""
    #: The ticket was closed here and the resolve is on its way to the RMM (or done).
    closed_here: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """The integration's alerting options."""

    enabled: bool = True
    close_behaviour: CloseBehaviour = CloseBehaviour.CLOSE


@dataclass(frozen=True, slots=True)
class Decision:
    """The chosen action and why; `count_occurrence` for a repeat, `mark_resolved` when the alert recovered."""

    action: Action
    reason: str
    count_occurrence: bool = False
    mark_resolved: bool = False


def decide(facts: EventFacts, state: CurrentState, policy: Policy) -> Decision:
    """Choose OPEN_TICKET / APPEND_NOTE / CLOSE / IGNORE for one event."""
    if not policy.enabled:
        return Decision(Action.IGNORE, "alerting is switched off for this integration")
    if not facts.key:
        return Decision(Action.IGNORE, "the event carries no alert id and no device + condition to key it on")
    if facts.kind is EventKind.TRIGGER:
        return _decide_trigger(facts, state)
    return _decide_resolve(state, policy)


def _decide_trigger(facts: EventFacts, state: CurrentState) -> Decision:
    if facts.report_only and state.exists:
        return Decision(Action.IGNORE, "the RMM still lists this alert as open; it is already tracked")
    same_occurrence = bool(facts.occurrence_id) and facts.occurrence_id == state.last_occurrence_id
    if state.exists and state.ticket_open:
        if same_occurrence:
            return Decision(Action.IGNORE, "this occurrence is already recorded on the open ticket")
        return Decision(Action.APPEND_NOTE, "the condition happened again; counted on the open ticket",
                        count_occurrence=True)
    if state.exists and same_occurrence:
        if state.closed_here:
            return Decision(Action.IGNORE, "the ticket was closed here; the resolve is on its way to the RMM")
        return Decision(Action.IGNORE, "this occurrence was already handled")
    if not facts.has_target:
        return Decision(Action.IGNORE, "no asset matches the device and the integration has no New Alert User")
    if state.exists and not state.resolved and state.has_ticket and state.closed_here:
        return Decision(Action.OPEN_TICKET, "the condition is back after the ticket was closed here")
    return Decision(Action.OPEN_TICKET, "new alert")


def _decide_resolve(state: CurrentState, policy: Policy) -> Decision:
    if not state.exists:
        return Decision(Action.IGNORE, "resolve for an alert that never opened a ticket here")
    if not state.ticket_open:
        if state.resolved:
            return Decision(Action.IGNORE, "the alert is already resolved")
        return Decision(Action.IGNORE, "the ticket is already closed", mark_resolved=True)
    if policy.close_behaviour is CloseBehaviour.NOTE_IF_WORKED and state.worked_by_person:
        return Decision(Action.APPEND_NOTE, "resolved in the RMM; a person worked the ticket, so it stays open",
                        mark_resolved=True)
    return Decision(Action.CLOSE, "resolved in the RMM", mark_resolved=True)
