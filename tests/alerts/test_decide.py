"""Table-driven tests of the pure alert decision function."""

from __future__ import annotations

import pytest

from rmmbridge.alerts.decide import (
    Action,
    CloseBehaviour,
    CurrentState,
    EventFacts,
    EventKind,
    Policy,
    decide,
)

T, R = EventKind.TRIGGER, EventKind.RESOLVE
NONE = CurrentState()
OPEN = CurrentState(exists=True, ticket_open=True, has_ticket=True, last_occurrence_id="m1")
OPEN_WORKED = CurrentState(exists=True, ticket_open=True, has_ticket=True, worked_by_person=True)
CLOSED_RESOLVED = CurrentState(exists=True, has_ticket=True, resolved=True, last_occurrence_id="m1")
CLOSED_HERE = CurrentState(exists=True, has_ticket=True, resolved=True, closed_here=True, last_occurrence_id="a1")
CLOSED_UNRESOLVED = CurrentState(exists=True, has_ticket=True, resolved=False)
ON = Policy()
NOTE_IF_WORKED = Policy(close_behaviour=CloseBehaviour.NOTE_IF_WORKED)
OFF = Policy(enabled=False)

CASES = [
    # (id, facts, state, policy, action, count, mark_resolved, reason fragment)
    ("new alert", EventFacts(T, "a1", "m1"), NONE, ON, Action.OPEN_TICKET, False, False, "new alert"),
    ("no target", EventFacts(T, "a1", "m1", has_target=False), NONE, ON, Action.IGNORE, False, False,
     "New Alert User"),
    ("repeat counts", EventFacts(T, "a1", "m2"), OPEN, ON, Action.APPEND_NOTE, True, False, "again"),
    ("same occurrence", EventFacts(T, "a1", "m1"), OPEN, ON, Action.IGNORE, False, False, "already recorded"),
    ("poll report of tracked", EventFacts(T, "a1", "a1", report_only=True), OPEN, ON, Action.IGNORE, False, False,
     "already tracked"),
    ("poll report of closed-here", EventFacts(T, "a1", "a1", report_only=True), CLOSED_HERE, ON, Action.IGNORE,
     False, False, "already tracked"),
    ("poll finds missed trigger", EventFacts(T, "a9", "a9", report_only=True), NONE, ON, Action.OPEN_TICKET,
     False, False, "new alert"),
    ("redelivery after close", EventFacts(T, "a1", "m1"), CLOSED_RESOLVED, ON, Action.IGNORE, False, False,
     "already handled"),
    ("echo of closed here", EventFacts(T, "a1", "a1"), CLOSED_HERE, ON, Action.IGNORE, False, False,
     "closed here"),
    ("comes back after close", EventFacts(T, "a1", "m5"), CLOSED_RESOLVED, ON, Action.OPEN_TICKET, False, False,
     "new alert"),
    ("resolve closes", EventFacts(R, "a1"), OPEN, ON, Action.CLOSE, False, True, "resolved"),
    ("resolve worked, close anyway", EventFacts(R, "a1"), OPEN_WORKED, ON, Action.CLOSE, False, True, "resolved"),
    ("resolve worked, note only", EventFacts(R, "a1"), OPEN_WORKED, NOTE_IF_WORKED, Action.APPEND_NOTE, False,
     True, "stays open"),
    ("resolve unworked, note option closes", EventFacts(R, "a1"), OPEN, NOTE_IF_WORKED, Action.CLOSE, False, True,
     "resolved"),
    ("resolve unknown", EventFacts(R, "zz"), NONE, ON, Action.IGNORE, False, False, "never opened"),
    ("resolve twice", EventFacts(R, "a1"), CLOSED_RESOLVED, ON, Action.IGNORE, False, False, "already resolved"),
    ("resolve after manual close", EventFacts(R, "a1"), CLOSED_UNRESOLVED, ON, Action.IGNORE, False, True,
     "already closed"),
    ("alerting off", EventFacts(T, "a1", "m1"), NONE, OFF, Action.IGNORE, False, False, "switched off"),
    ("no key", EventFacts(T, "", "m1"), NONE, ON, Action.IGNORE, False, False, "no alert id"),
]


@pytest.mark.parametrize(("facts", "state", "policy", "action", "count", "resolved", "reason"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_decide(facts: EventFacts, state: CurrentState, policy: Policy, action: Action, count: bool,
                resolved: bool, reason: str) -> None:
    decision = decide(facts, state, policy)
    assert decision.action is action
    assert decision.count_occurrence is count
    assert decision.mark_resolved is resolved
    assert reason.lower() in decision.reason.lower()


def test_decide_module_imports_no_django() -> None:
    import ast
    from pathlib import Path

    import rmmbridge.alerts.decide as module

    tree = ast.parse(Path(module.__file__ or "").read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not any(name.startswith("django") or name.startswith("rmmbridge") for name in imported)
