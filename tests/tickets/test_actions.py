"""Ticket actions against the real database: workflow, validation, history, audit and the close signal."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AuditEntry, AuditSource
from rmmbridge.tickets.actions import (
    do_add_note,
    do_assign_ticket,
    do_change_status,
    do_close_ticket,
    do_create_ticket_type,
    do_open_ticket,
    do_reopen_ticket,
    do_update_ticket_type,
)
from rmmbridge.tickets.choices import ActionKind, TicketSource, TicketStatus
from rmmbridge.tickets.models import Ticket, TicketAction, TicketType, worked_by_person
from rmmbridge.tickets.signals import ticket_closed

from .conftest import SYSTEM, Desk

ALERT = Actor(AuditSource.ALERT, label="Datto RMM")


def test_open_ticket_defaults_and_history(desk: Desk) -> None:
    ticket = desk.open("  Disk   C: almost full ", source=TicketSource.EMAIL, alert_key="datto:1:alert-42", actor=ALERT)
    ticket.refresh_from_db()
    assert ticket.summary == "Disk C: almost full"
    assert ticket.status == TicketStatus.NEW
    assert ticket.priority == 2  # the RMM Alert type's default priority
    assert ticket.occurrences == 1
    assert ticket.source == "email"
    assert list(ticket.assets.all()) == [desk.acme_pc]
    assert Ticket.objects.filter(alert_key="datto:1:alert-42").count() == 1
    (created,) = ticket.actions.all()
    assert created.kind == ActionKind.CREATED
    assert created.source == "alert"
    assert created.actor_label == "Datto RMM"
    assert AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk, action="create").count() == 1


def test_explicit_priority_overrides_type_default(desk: Desk) -> None:
    assert desk.open(priority=4).priority == 4
    with pytest.raises(ValidationError, match=r"Priority must be 1 \(critical\).*got '9'"):
        desk.open(priority=9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"summary": "   "}, "Summary is required."),
        ({"summary": "x" * 256}, "Summary is longer than 255 characters"),
        ({"site": "other_site"}, "Site 'Main' belongs to another customer than 'Acme Ltd'."),
        ({"end_user": "other_user"}, "User 'Bob Jones' belongs to another customer than 'Acme Ltd'."),
        ({"assets": "other_pc"}, "Asset(s) GLX-PC-07 belong to another customer than 'Acme Ltd'."),
        ({"source": "fax"}, "Source must be one of email, webhook, poll, manual; got 'fax'."),
    ],
)
def test_open_ticket_validation(desk: Desk, kwargs: dict[str, Any], message: str) -> None:
    resolved = {k: getattr(desk, v) if k in {"site", "end_user"} else v for k, v in kwargs.items()}
    if "assets" in kwargs:
        resolved["assets"] = [getattr(desk, kwargs["assets"])]
    with pytest.raises(ValidationError) as excinfo:
        desk.open(**resolved)
    assert any(message in m for m in excinfo.value.messages), excinfo.value.messages
    assert Ticket.objects.count() == 0
    assert TicketAction.objects.count() == 0


def test_inactive_type_is_rejected(desk: Desk) -> None:
    do_update_ticket_type(SYSTEM, desk.incident, active=False)
    with pytest.raises(ValidationError, match="Ticket type 'Incident' is inactive"):
        desk.open(ticket_type=desk.incident)


def test_ticket_type_names_unique_ignoring_case(desk: Desk) -> None:
    with pytest.raises(ValidationError, match=r"A ticket type named 'rmm alert' already exists\."):
        do_create_ticket_type(SYSTEM, "rmm  alert")
    with pytest.raises(ValidationError, match=r"Ticket type name is required\."):
        do_create_ticket_type(SYSTEM, " ")
    assert TicketType.objects.count() == 2


def test_workflow_through_every_state(desk: Desk, admin_user: Any) -> None:
    person = Actor.ui(admin_user)
    ticket = desk.open()
    do_change_status(person, ticket, TicketStatus.OPEN)
    do_change_status(person, ticket, TicketStatus.ON_HOLD, note="Waiting for the customer")
    do_change_status(person, ticket, TicketStatus.OPEN)
    do_close_ticket(person, ticket, note="Cleaned up temp files")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    assert ticket.closed_at is not None
    do_reopen_ticket(person, ticket, note="Full again")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN
    assert ticket.closed_at is None
    history = [(a.kind, a.old_status, a.new_status, a.text) for a in ticket.actions.all()]
    assert history == [
        ("created", "", "new", "Opened (Manual)."),
        ("status_change", "new", "open", ""),
        ("status_change", "open", "on_hold", "Waiting for the customer"),
        ("status_change", "on_hold", "open", ""),
        ("closed", "open", "closed", "Cleaned up temp files"),
        ("reopened", "closed", "open", "Full again"),
    ]
    assert {a.actor_id for a in ticket.actions.exclude(kind="created")} == {admin_user.pk}
    assert set(ticket.actions.exclude(kind="created").values_list("actor_label", flat=True)) == {"admin"}
    audit = AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk)
    actions = list(audit.values_list("action", flat=True))
    assert sorted(actions) == sorted(["create", "status", "status", "status", "close", "reopen"])


@pytest.mark.parametrize(
    ("path", "target", "message"),
    [
        ([], "new", "Ticket #{pk} is already new."),
        (["open"], "new", "cannot go from open to new; from open it can go to on hold, closed."),
        (["closed"], "on_hold", "cannot go from closed to on hold; from closed it can go to open."),
        (["closed"], "closed", "is already closed."),
        ([], "resolved", "Unknown status 'resolved'; use one of new, open, on_hold, closed."),
    ],
)
def test_invalid_transitions_are_rejected(desk: Desk, path: list[str], target: str, message: str) -> None:
    ticket = desk.open()
    for status in path:
        do_change_status(SYSTEM, ticket, status)
    before = ticket.actions.count()
    with pytest.raises(ValidationError) as excinfo:
        do_change_status(SYSTEM, ticket, target)
    assert message.format(pk=ticket.pk) in excinfo.value.messages[0]
    assert ticket.actions.count() == before
    assert Ticket.objects.get(pk=ticket.pk).status == (path[-1] if path else "new")


def test_reopen_needs_a_closed_ticket(desk: Desk) -> None:
    ticket = desk.open()
    do_change_status(SYSTEM, ticket, TicketStatus.ON_HOLD)
    with pytest.raises(ValidationError, match="is on hold, not closed, so it cannot be reopened"):
        do_reopen_ticket(SYSTEM, ticket)


def test_stale_instance_cannot_close_twice(desk: Desk) -> None:
    ticket = desk.open()
    stale = Ticket.objects.get(pk=ticket.pk)
    do_close_ticket(SYSTEM, ticket)
    with pytest.raises(ValidationError, match="is already closed"):
        do_close_ticket(SYSTEM, stale)
    assert ticket.actions.filter(kind="closed").count() == 1


def test_notes_and_occurrences(desk: Desk) -> None:
    ticket = desk.open()
    with pytest.raises(ValidationError, match="The note is empty"):
        do_add_note(SYSTEM, ticket, "  ")
    do_add_note(SYSTEM, ticket, "Checked the disk")
    do_add_note(ALERT, ticket, "Alert raised again at 10:05", count_occurrence=True)
    do_add_note(ALERT, ticket, "", count_occurrence=True)
    ticket.refresh_from_db()
    assert ticket.occurrences == 3
    kinds = list(ticket.actions.values_list("kind", "text"))
    assert kinds[1:] == [
        ("note", "Checked the disk"),
        ("occurrence", "Alert raised again at 10:05"),
        ("occurrence", "The alert occurred again."),
    ]


def test_worked_by_person(desk: Desk, admin_user: Any) -> None:
    ticket = desk.open(actor=Actor.ui(admin_user))
    assert not worked_by_person(ticket)  # creating it does not count
    do_add_note(ALERT, ticket, "", count_occurrence=True)
    do_change_status(SYSTEM, ticket, TicketStatus.OPEN)
    assert not ticket.worked_by_person
    do_add_note(Actor.cli("ops"), ticket, "Looked at it")
    assert worked_by_person(ticket)


def test_close_signal_runs_inside_the_transaction(desk: Desk) -> None:
    ticket = desk.open()
    seen: list[tuple[int, str, bool, str]] = []

    def receiver(sender: Any, ticket: Ticket, actor: Actor, **kwargs: Any) -> None:
        connection = transaction.get_connection()
        seen.append((ticket.pk, Ticket.objects.get(pk=ticket.pk).status, connection.in_atomic_block, actor.label))
        do_add_note(SYSTEM, ticket, "outbox row written by the receiver")

    ticket_closed.connect(receiver, sender=Ticket)
    try:
        do_close_ticket(Actor.cli("ops"), ticket, note="done")
    finally:
        ticket_closed.disconnect(receiver, sender=Ticket)
    assert seen == [(ticket.pk, "closed", True, "ops")]
    assert ticket.actions.filter(text="outbox row written by the receiver").exists()


def test_close_rolls_back_with_a_failing_receiver(desk: Desk) -> None:
    ticket = desk.open()

    def receiver(sender: Any, ticket: Ticket, actor: Actor, **kwargs: Any) -> None:
        do_add_note(SYSTEM, ticket, "written before the failure")
        raise RuntimeError("outbox unavailable")

    ticket_closed.connect(receiver, sender=Ticket)
    try:
        with pytest.raises(RuntimeError, match="outbox unavailable"):
            do_close_ticket(SYSTEM, ticket, note="done")
    finally:
        ticket_closed.disconnect(receiver, sender=Ticket)
    fresh = Ticket.objects.get(pk=ticket.pk)
    assert fresh.status == TicketStatus.NEW
    assert fresh.closed_at is None
    assert list(fresh.actions.values_list("kind", flat=True)) == ["created"]
    assert not AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk, action="close").exists()


def test_close_rolls_back_with_the_callers_transaction(desk: Desk) -> None:
    ticket = desk.open()
    received: list[int] = []
    ticket_closed.connect(lambda sender, ticket, actor, **kw: received.append(ticket.pk), sender=Ticket,
                          weak=False, dispatch_uid="test-rollback")
    def close_then_fail() -> None:
        with transaction.atomic():
            do_close_ticket(SYSTEM, ticket)
            raise ValueError("caller failed")

    try:
        with pytest.raises(ValueError, match="caller failed"):
            close_then_fail()
    finally:
        ticket_closed.disconnect(sender=Ticket, dispatch_uid="test-rollback")
    assert received == [ticket.pk]
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.NEW


def test_open_ticket_without_optional_relations(desk: Desk) -> None:
    ticket = do_open_ticket(SYSTEM, summary="Printer jam", ticket_type=desk.incident, customer=desk.other)
    assert ticket.site is None
    assert ticket.end_user is None
    assert ticket.assets.count() == 0
    assert ticket.priority == 3


def test_same_asset_given_twice_is_linked_once(desk: Desk) -> None:
    ticket = desk.open(assets=[desk.acme_pc, desk.acme_pc])
    assert list(ticket.assets.all()) == [desk.acme_pc]


def test_open_and_assign_record_the_assignee_and_refuse_inactive_or_non_staff_users(desk: Desk) -> None:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    dana = users.create_user("dana", password="x", is_staff=True, first_name="Dana", last_name="Scully")
    gone = users.create_user("gone", password="x", is_staff=True, is_active=False)
    visitor = users.create_user("visitor", password="x")
    ticket = desk.open(assigned_to=dana)
    ticket.refresh_from_db()
    assert ticket.assigned_to == dana
    assert "Assigned to Dana Scully (dana)." in ticket.actions.get(kind=ActionKind.CREATED).text
    created = AuditEntry.objects.get(object_type="ticket", object_id=ticket.pk, action="create")
    assert created.changes["assigned_to"] == [None, "dana"]
    with pytest.raises(ValidationError, match="User 'gone' is inactive and cannot be assigned tickets"):
        desk.open(assigned_to=gone)
    with pytest.raises(ValidationError, match="User 'gone' is inactive"):
        do_assign_ticket(SYSTEM, ticket, gone)
    with pytest.raises(ValidationError, match="User 'visitor' is not staff"):
        do_assign_ticket(SYSTEM, ticket, visitor)
    ticket.refresh_from_db()
    assert ticket.assigned_to == dana  # a refused assignment changes nothing
    boss = users.create_user("boss", password="x", is_staff=True)
    do_assign_ticket(SYSTEM, ticket, boss)
    do_assign_ticket(SYSTEM, ticket, boss)  # the same assignee again records nothing
    do_assign_ticket(SYSTEM, ticket, None)
    ticket.refresh_from_db()
    assert ticket.assigned_to is None
    assert [a.text for a in ticket.actions.filter(kind=ActionKind.ASSIGNED)] == ["Assigned to boss.", "Unassigned."]
    assert [e.changes["assigned_to"] for e in AuditEntry.objects.filter(
        object_type="ticket", object_id=ticket.pk, action="assign").order_by("id")] == [["dana", "boss"],
                                                                                      ["boss", None]]
