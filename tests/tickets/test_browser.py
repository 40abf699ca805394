"""In a real browser: ticket list → open a ticket → close it with a note → the status shows closed."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rmmbridge.tickets.choices import TicketStatus
from rmmbridge.tickets.models import Ticket

from .conftest import Desk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_close_a_ticket_with_a_note(page: Any, desk: Desk) -> None:
    from playwright.sync_api import expect

    ticket = desk.open("Disk C: almost full", alert_key="datto:7:disk")
    desk.open("CPU high")

    page.goto("/tickets/")
    row = page.locator(f"tr[data-ticket='{ticket.pk}']")
    expect(row).to_contain_text("ACME-PC-01")
    expect(row).to_contain_text("datto:7:disk")
    row.get_by_role("link", name="Disk C: almost full").click()
    page.wait_for_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    expect(page.locator("#ticket-devices")).to_contain_text("Workstation")
    expect(page.get_by_test_id("ticket-status")).to_have_text("New")

    page.get_by_label("Closing note").fill("Freed 20 GB on C:")
    page.get_by_role("button", name="Close ticket").click()

    expect(page.get_by_test_id("ticket-status")).to_have_text("Closed")  # swapped in place by HTMX
    expect(page.locator("#ticket-history")).to_contain_text("Freed 20 GB on C:")
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    assert re.search(rf"/tickets/{ticket.pk}/$", page.url)  # no full page navigation
    closed = Ticket.objects.get(pk=ticket.pk)
    assert closed.status == TicketStatus.CLOSED
    assert closed.actions.get(kind="closed").actor_label == "admin"

    page.get_by_role("link", name="← Tickets").click()
    expect(page.locator(f"tr[data-ticket='{ticket.pk}']")).to_have_count(0)  # the default list shows open tickets
    page.get_by_label("Status").select_option("closed")  # HTMX swaps the table in place
    expect(page.locator(f"tr[data-ticket='{ticket.pk}']")).to_contain_text("Closed")
    expect(page.locator("#ticket-table tbody tr")).to_have_count(1)
    assert "status=closed" in page.url  # the filter is kept in the address


def test_reassign_a_ticket_in_place(page: Any, desk: Desk) -> None:
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True, first_name="Dana")
    ticket = desk.open("Printer jammed")
    page.goto(f"/tickets/{ticket.pk}/")
    expect(page.get_by_test_id("assignee")).to_have_text("—")
    page.get_by_label("Assign to").select_option(label="dana (Dana)")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("assignee")).to_have_text("Dana")  # swapped in place by HTMX
    expect(page.locator("#ticket-history")).to_contain_text("Assigned to Dana (dana).")
    assert re.search(rf"/tickets/{ticket.pk}/$", page.url)
    assert Ticket.objects.get(pk=ticket.pk).assigned_to == dana
    page.get_by_label("Assign to").select_option(label="— nobody —")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_test_id("assignee")).to_have_text("—")
    assert Ticket.objects.get(pk=ticket.pk).assigned_to is None
