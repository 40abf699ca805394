"""What processing an event did: each alert's result and the event's outcome, summarised for the event log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rmmbridge.alerts.decide import Action
from rmmbridge.alerts.models import AlertEvent, EventStatus


@dataclass(frozen=True)
class AlertResult:
    """What happened to one alert of an event."""

    key: str
    action: str
    reason: str
    ticket_id: int | None = None
    #: The event rule that decided this alert, why no ticket came of it (a reason code), what the rules saw.
    rule_id: int | None = None
    suppressed: str = ""
    rule_view: dict[str, Any] | None = None


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
            "results": [{k: v for k, v in r.__dict__.items() if k != "rule_view"} for r in self.results],
        }


def summarise(event: AlertEvent, results: list[AlertResult]) -> Outcome:
    """The event's outcome from its alerts' results (counted by action and reason when there are several)."""
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
