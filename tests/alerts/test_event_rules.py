"""The pure event-rule decision: order (integration before global), first match wins, default, bounded text."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rmmbridge.alerts.event_rules import (
    DEFAULT,
    MAX_TEXT_CHARS,
    AlertView,
    RuleOutcome,
    RuleSpec,
    TextMatch,
    choose,
    matches,
    ordered,
    pattern_problem,
)

ALERT = AlertView(integration_id=1, vendor="datto_rmm", condition="Disk space low", severity="High",
                  customer_id=7, site_id=70, asset_type_id=3, message="C: has 2% free on RIVER-PC01")


def test_no_rule_is_the_default_rule_a_ticket_as_before() -> None:
    assert choose([], ALERT) == DEFAULT
    assert DEFAULT.outcome is RuleOutcome.OPEN_TICKET
    assert DEFAULT.rule_id is None


def test_the_winning_rule_carries_its_assigned_user_with_its_ticket_type_and_priority() -> None:
    rules = [RuleSpec(1, "disk to Dana", condition="disk", ticket_type_id=4, priority=2, assign_to_id=12),
             RuleSpec(2, "rest", order=200)]
    decision = choose(rules, ALERT)
    assert (decision.rule_id, decision.ticket_type_id, decision.priority, decision.assign_to_id) == (1, 4, 2, 12)
    assert choose(rules, AlertView(integration_id=1, condition="offline")).assign_to_id is None
    assert DEFAULT.assign_to_id is None


def test_each_condition_narrows_the_rule() -> None:
    assert matches(RuleSpec(1, "all"), ALERT)
    assert matches(RuleSpec(1, "disk", condition="disk SPACE", severities="critical, high"), ALERT)
    assert not matches(RuleSpec(1, "crit", severities="critical"), ALERT)
    assert not matches(RuleSpec(1, "ninja", vendor="ninjaone"), ALERT)
    assert not matches(RuleSpec(1, "other customer", customer_id=8), ALERT)
    assert not matches(RuleSpec(1, "other site", site_id=71), ALERT)
    assert matches(RuleSpec(1, "servers?", asset_type_id=3), ALERT)
    assert not matches(RuleSpec(1, "other integration", integration_id=2), ALERT)
    assert matches(RuleSpec(1, "contains", text_match=TextMatch.CONTAINS, text="river-pc"), ALERT)
    assert matches(RuleSpec(1, "regex", text_match=TextMatch.REGEX, text=r"\d+% free"), ALERT)
    assert not matches(RuleSpec(1, "regex", text_match=TextMatch.REGEX, text=r"^RIVER"), ALERT)


def test_the_integrations_rules_run_before_global_ones_and_the_first_match_wins() -> None:
    rules = [
        RuleSpec(1, "global ignore", order=1, outcome=RuleOutcome.IGNORE),
        RuleSpec(2, "own note", order=50, integration_id=1, outcome=RuleOutcome.NOTE_ONLY),
        RuleSpec(3, "own ticket", order=10, integration_id=1, severities="high", priority=1),
        RuleSpec(4, "disabled", order=0, integration_id=1, enabled=False, outcome=RuleOutcome.IGNORE),
    ]
    decision = choose(rules, ALERT)
    assert (decision.rule_id, decision.outcome, decision.priority) == (3, RuleOutcome.OPEN_TICKET, 1)
    assert [r.id for r in ordered(rules, 1)] == [3, 2, 1]
    assert choose(rules, AlertView(integration_id=2)).rule_name == "global ignore"
    assert "Suppressed by event rule 'global ignore'" in choose(rules, AlertView(integration_id=2)).reason


def test_a_bad_pattern_is_explained_and_never_matches() -> None:
    assert pattern_problem(TextMatch.REGEX, "disk (") is not None
    assert "regular expression" in (pattern_problem(TextMatch.REGEX, "(") or "")
    assert "at most" in (pattern_problem(TextMatch.CONTAINS, "x" * 301) or "")
    assert pattern_problem(TextMatch.CONTAINS, " ") is not None
    assert pattern_problem(TextMatch.REGEX, r"disk \d+%") is None
    assert not matches(RuleSpec(1, "bad", text_match=TextMatch.REGEX, text="("), ALERT)


def test_the_message_is_matched_on_a_bounded_prefix_only() -> None:
    far = AlertView(message="x" * MAX_TEXT_CHARS + "needle")
    assert not matches(RuleSpec(1, "far", text_match=TextMatch.CONTAINS, text="needle"), far)
    near = AlertView(message="needle" + "x" * MAX_TEXT_CHARS)
    assert matches(RuleSpec(1, "near", text_match=TextMatch.CONTAINS, text="needle"), near)


severities = st.sampled_from(["", "critical", "high", "low"])
specs = st.builds(
    RuleSpec,
    id=st.integers(1, 40),
    name=st.sampled_from(["a", "b", "c"]),
    order=st.integers(0, 5),
    integration_id=st.sampled_from([None, 1, 2]),
    enabled=st.booleans(),
    severities=severities,
    condition=st.sampled_from(["", "disk", "offline"]),
    outcome=st.sampled_from(list(RuleOutcome)),
)
views = st.builds(AlertView, integration_id=st.sampled_from([None, 1, 2]), severity=severities,
                  condition=st.sampled_from(["Disk space low", "Device offline", ""]))


@given(st.lists(specs, max_size=8, unique_by=lambda r: r.id), views)
def test_the_decision_is_the_first_match_in_order_whatever_the_list_order(rules: list[RuleSpec],
                                                                          view: AlertView) -> None:
    decision = choose(rules, view)
    assert choose(list(reversed(rules)), view) == decision  # stored order does not matter, only `order`
    in_order = ordered(rules, view.integration_id)
    first = next((r for r in in_order if matches(r, view)), None)
    if first is None:
        assert decision == DEFAULT
    else:
        assert (decision.rule_id, decision.outcome) == (first.id, first.outcome)
        assert first.enabled
        # an integration's own rule always wins over every matching global one
        if any(r.integration_id is not None and matches(r, view) for r in in_order):
            assert first.integration_id == view.integration_id
    assert decision.reason  # every outcome says why
