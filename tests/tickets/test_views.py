"""Ticket pages through Django's test client on the real database: list filters, detail, close, notes, create."""

from __future__ import annotations

import html
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets import panels
from rmmbridge.tickets.actions import do_add_note, do_change_status, do_close_ticket, do_open_ticket
from rmmbridge.tickets.choices import TicketSource, TicketStatus
from rmmbridge.tickets.models import Ticket, TicketType

from .conftest import SYSTEM, Desk

LIST = reverse("tickets:ticket_list")


def _ids(response: Any) -> list[int]:
    return [t.pk for t in response.context["page"].object_list]


def test_list_needs_login(client: Any, desk: Desk) -> None:
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_list_filters(admin_client: Any, desk: Desk) -> None:
    disk = desk.open("Disk C: almost full", source=TicketSource.EMAIL, alert_key="datto:7:disk")
    cpu = desk.open("CPU high", source=TicketSource.WEBHOOK, alert_key="ninja:3:cpu")
    printer = do_open_ticket(SYSTEM, summary="Printer jam", ticket_type=desk.incident, customer=desk.other,
                             assets=[desk.other_pc])
    closed = desk.open("Old alert", source=TicketSource.POLL)
    do_close_ticket(SYSTEM, closed)

    assert _ids(admin_client.get(LIST)) == [printer.pk, cpu.pk, disk.pk]  # default: open statuses only
    assert _ids(admin_client.get(LIST, {"status": "all"})) == [closed.pk, printer.pk, cpu.pk, disk.pk]
    assert _ids(admin_client.get(LIST, {"status": "closed"})) == [closed.pk]
    assert _ids(admin_client.get(LIST, {"customer": desk.other.pk})) == [printer.pk]
    assert _ids(admin_client.get(LIST, {"ticket_type": desk.incident.pk})) == [printer.pk]
    assert _ids(admin_client.get(LIST, {"source": "webhook"})) == [cpu.pk]
    assert _ids(admin_client.get(LIST, {"q": "disk"})) == [disk.pk]
    assert _ids(admin_client.get(LIST, {"q": "ninja:3"})) == [cpu.pk]
    assert _ids(admin_client.get(LIST, {"q": "GLX-PC"})) == [printer.pk]  # by asset hostname
    assert _ids(admin_client.get(LIST, {"q": f"#{cpu.pk}"})) == [cpu.pk]
    page = admin_client.get(LIST).content.decode()
    assert "datto:7:disk" in page
    assert "ACME-PC-01" in page


def test_bad_filter_value_is_reported(admin_client: Any, desk: Desk) -> None:
    desk.open()
    response = admin_client.get(LIST, {"customer": "999999"}, follow=True)
    text = response.content.decode()
    assert "Filter &#x27;customer&#x27;: Select a valid choice" in text


def test_htmx_filter_returns_only_the_table(admin_client: Any, desk: Desk) -> None:
    desk.open()
    response = admin_client.get(LIST, {"status": "all"}, headers={"HX-Request": "true"})
    text = response.content.decode()
    assert 'id="ticket-table"' in text
    assert "<html" not in text


def test_pagination(admin_client: Any, desk: Desk) -> None:
    tickets = [desk.open(f"Alert {i}") for i in range(55)]
    first = admin_client.get(LIST, {"source": "manual"})
    assert len(_ids(first)) == 50
    assert "page=2" in first.content.decode()
    second = admin_client.get(LIST, {"source": "manual", "page": 2})
    assert _ids(second) == [t.pk for t in tickets[:5]][::-1]


def test_list_query_count_does_not_grow_with_tickets(admin_client: Any, desk: Desk) -> None:
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get(LIST, {"status": "all"}).status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        desk.open(f"Alert {i}")
    few = count_queries()
    for i in range(40):
        desk.open(f"More {i}", assets=[desk.acme_pc])
    many = count_queries()
    assert many == few
    assert many <= 10


def test_detail_shows_devices_history_and_panels(admin_client: Any, desk: Desk, admin_user: Any) -> None:
    desk.acme_pc.values = {"serial": "SN-123", "hostname": "acme-pc-01.acme.local"}
    desk.acme_pc.save()
    ticket = desk.open(details="Disk C: has 2% free", alert_key="datto:7:disk")
    do_add_note(Actor.ui(admin_user), ticket, "Called Alice")
    panels.TICKET_PANELS.append(lambda t: f"<article id='rmm-panel'>RMM alert for #{t.pk}</article>")
    panels.TICKET_PANELS.append(lambda t: None)
    try:
        text = admin_client.get(reverse("tickets:ticket_detail", args=[ticket.pk])).content.decode()
    finally:
        del panels.TICKET_PANELS[-2:]
    assert "ACME-PC-01" in text
    assert "Workstation" in text
    assert "SN-123" in text
    assert "<th scope=\"row\">Hostname</th><td>acme-pc-01.acme.local</td>" in text
    assert reverse("servicedesk:asset_detail", args=[desk.acme_pc.pk]) in text
    assert "Disk C: has 2% free" in text
    assert "Called Alice" in text
    assert f"<article id='rmm-panel'>RMM alert for #{ticket.pk}</article>" in text


def test_close_with_note_over_htmx(admin_client: Any, desk: Desk) -> None:
    ticket = desk.open()
    response = admin_client.post(reverse("tickets:ticket_close", args=[ticket.pk]), {"note": "Freed 20 GB"},
                                 headers={"HX-Request": "true"})
    text = response.content.decode()
    assert 'id="ticket-status"' in text
    assert 'data-testid="ticket-status">Closed<' in text
    assert 'hx-swap-oob="true"' in text
    assert "Freed 20 GB" in text
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.CLOSED
    action = ticket.actions.get(kind="closed")
    assert (action.text, action.source, action.actor_label) == ("Freed 20 GB", "ui", "admin")


def test_closing_twice_shows_a_clear_error(admin_client: Any, desk: Desk) -> None:
    ticket = desk.open()
    do_close_ticket(SYSTEM, ticket)
    response = admin_client.post(reverse("tickets:ticket_close", args=[ticket.pk]), {"note": "again"},
                                 headers={"HX-Request": "true"})
    assert f"Ticket #{ticket.pk} is already closed." in response.content.decode()
    assert ticket.actions.filter(kind="closed").count() == 1


def test_close_without_htmx_redirects(admin_client: Any, desk: Desk) -> None:
    ticket = desk.open()
    response = admin_client.post(reverse("tickets:ticket_close", args=[ticket.pk]), {"note": ""}, follow=True)
    assert f"Ticket #{ticket.pk} closed." in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.CLOSED


def test_status_change_and_reopen(admin_client: Any, desk: Desk) -> None:
    ticket = desk.open()
    url = reverse("tickets:ticket_status", args=[ticket.pk])
    admin_client.post(url, {"status": "on_hold"}, headers={"HX-Request": "true"})
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.ON_HOLD
    response = admin_client.post(url, {"status": "new"}, headers={"HX-Request": "true"})
    assert "cannot go from on hold to new" in response.content.decode()
    do_change_status(SYSTEM, ticket, TicketStatus.CLOSED)
    admin_client.post(url, {"status": "open", "note": "Came back"}, headers={"HX-Request": "true"})
    assert ticket.actions.last().kind == "reopened"  # type: ignore[union-attr]


def test_add_note(admin_client: Any, desk: Desk) -> None:
    ticket = desk.open()
    url = reverse("tickets:ticket_note", args=[ticket.pk])
    response = admin_client.post(url, {"text": "  "}, headers={"HX-Request": "true"})
    assert "The note is empty" in response.content.decode()
    response = admin_client.post(url, {"text": "Rebooted"}, headers={"HX-Request": "true"})
    assert "Rebooted" in response.content.decode()
    assert list(ticket.actions.values_list("kind", "text"))[-1] == ("note", "Rebooted")


def test_create_ticket_form(admin_client: Any, desk: Desk) -> None:
    url = reverse("tickets:ticket_create")
    fields = admin_client.get(url, {"customer": desk.acme.pk}, headers={"HX-Request": "true"}).content.decode()
    assert "ACME-PC-01" in fields
    assert "GLX-PC-07" not in fields
    response = admin_client.post(url, {
        "customer": desk.acme.pk, "summary": "Laptop broken", "ticket_type": desk.incident.pk, "priority": "",
        "site": desk.acme_site.pk, "end_user": desk.acme_user.pk, "assets": [desk.acme_pc.pk],
    })
    ticket = Ticket.objects.get(summary="Laptop broken")
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:ticket_detail", args=[ticket.pk])
    assert (ticket.priority, ticket.source, list(ticket.assets.all())) == (3, "manual", [desk.acme_pc])


def test_create_ticket_form_rejects_foreign_asset(admin_client: Any, desk: Desk) -> None:
    response = admin_client.post(reverse("tickets:ticket_create"), {
        "customer": desk.acme.pk, "summary": "Wrong asset", "ticket_type": desk.incident.pk,
        "assets": [desk.other_pc.pk],
    })
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    response = admin_client.post(reverse("tickets:ticket_create"), {"customer": desk.acme.pk, "summary": ""})
    text = response.content.decode()
    assert "This field is required." in text
    assert Ticket.objects.count() == 0


@pytest.mark.parametrize("name", ["Hardware", "hardware"])
def test_ticket_types_page(admin_client: Any, desk: Desk, name: str) -> None:
    url = reverse("tickets:ticket_types")
    admin_client.post(url, {"name": "Hardware", "default_priority": "2"})
    response = admin_client.post(url, {"name": name, "default_priority": "2"})
    assert "A ticket type named" in response.content.decode()
    hardware = TicketType.objects.get(name="Hardware")
    assert hardware.default_priority == 2
    admin_client.post(url, {"type_id": hardware.pk, "toggle": "1"})
    admin_client.post(url, {"type_id": hardware.pk, "priority": "4"})
    hardware.refresh_from_db()
    assert (hardware.active, hardware.default_priority) == (False, 4)
    response = admin_client.post(url, {"type_id": hardware.pk, "priority": "7"}, follow=True)
    assert "Priority must be 1 (critical)" in response.content.decode()


@pytest.mark.parametrize("type_id", ["abc", "", "1.5", "١", "9" * 40, "1; DROP TABLE x"])
def test_ticket_types_page_answers_a_bad_type_id_with_a_message_not_a_500(
    admin_client: Any, desk: Desk, type_id: str
) -> None:
    url = reverse("tickets:ticket_types")
    before = list(TicketType.objects.values_list("pk", "active", "default_priority").order_by("pk"))
    response = admin_client.post(url, {"type_id": type_id, "toggle": "1"}, follow=True)
    assert response.status_code == 200
    assert "choose a type from the list" in response.content.decode()
    assert list(TicketType.objects.values_list("pk", "active", "default_priority").order_by("pk")) == before


def test_ticket_types_page_answers_an_unknown_type_id_404(admin_client: Any, desk: Desk) -> None:
    response = admin_client.post(reverse("tickets:ticket_types"), {"type_id": "987654", "priority": "2"})
    assert response.status_code == 404


def test_detail_list_and_api_show_the_assignee(admin_client: Any, desk: Desk, admin_user: Any) -> None:
    from rmmbridge.tickets.actions import do_assign_ticket

    ticket = desk.open("Printer jammed")
    other = desk.open("Disk full")
    do_assign_ticket(SYSTEM, ticket, admin_user)
    detail = admin_client.get(reverse("tickets:ticket_detail", args=[ticket.pk])).content.decode()
    assert f'<span data-testid="assignee">{admin_user.get_username()}</span>' in detail
    unassigned = admin_client.get(reverse("tickets:ticket_detail", args=[other.pk])).content.decode()
    assert '<span data-testid="assignee">—</span>' in unassigned
    listing = admin_client.get(LIST).content.decode()
    assert "<th>Assigned to</th>" in listing
    assert f"<td>{admin_user.get_username()}</td>" in listing
    assert "Assigned to" in detail  # the history entry


def test_reassign_on_the_ticket_page_lists_active_staff_and_audits(admin_client: Any, desk: Desk,
                                                                    admin_user: Any) -> None:
    from django.contrib.auth import get_user_model

    from rmmbridge.servicedesk.models import AuditEntry

    users = get_user_model().objects
    dana = users.create_user("dana", password="x", is_staff=True, first_name="Dana", last_name="Reyes")
    gone = users.create_user("gone", password="x", is_staff=True, is_active=False)
    client_user = users.create_user("viewer", password="x", is_staff=False)
    ticket = desk.open("Printer jammed")
    url = reverse("tickets:ticket_assign", args=[ticket.pk])
    page = admin_client.get(reverse("tickets:ticket_detail", args=[ticket.pk])).content.decode()
    assert f'<option value="{dana.pk}">dana (Dana Reyes)</option>' in page
    assert f'value="{gone.pk}"' not in page
    assert f'value="{client_user.pk}"' not in page

    done = admin_client.post(url, {"assigned_to": str(dana.pk)}, headers={"HX-Request": "true"})
    assert done.status_code == 200
    body = done.content.decode()
    assert '<span data-testid="assignee">Dana Reyes</span>' in body
    assert 'id="ticket-history" hx-swap-oob="true"' in body
    assert "Assigned to Dana Reyes (dana)." in body
    ticket.refresh_from_db()
    assert ticket.assigned_to == dana
    audit = AuditEntry.objects.get(object_type="ticket", object_id=ticket.pk, action="assign")
    assert (audit.actor, audit.source, audit.changes) == (admin_user, "ui", {"assigned_to": [None, "dana"]})

    for who, says in ((gone, "User 'gone' is inactive and cannot be assigned tickets"),
                      (client_user, "User 'viewer' is not staff and cannot be assigned tickets")):
        refused = admin_client.post(url, {"assigned_to": str(who.pk)}, headers={"HX-Request": "true"})
        assert refused.status_code == 422
        assert says in html.unescape(refused.content.decode())
    unknown = admin_client.post(url, {"assigned_to": "987654"}, headers={"HX-Request": "true"})
    assert unknown.status_code == 422
    assert "There is no user with id '987654'" in html.unescape(unknown.content.decode())
    ticket.refresh_from_db()
    assert ticket.assigned_to == dana  # a refused choice changes nothing

    plain = admin_client.post(url, {"assigned_to": ""}, follow=True)  # without HTMX: back to the page
    assert f"Ticket #{ticket.pk} unassigned." in plain.content.decode()
    ticket.refresh_from_db()
    assert ticket.assigned_to is None
    assert AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk, action="assign").count() == 2
