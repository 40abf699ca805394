"""Event rules travel in the integration's configuration file (`integration configure --export/--import`)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from rmmbridge.alerts.models import EventRule
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, do_create_customer
from rmmbridge.tickets.actions import do_create_ticket_type

pytestmark = pytest.mark.django_db


def test_rules_round_trip_by_name_and_bad_rows_say_what_to_fix(tmp_path: Path) -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Datto Config")
    customer = do_create_customer(Actor.cli(), "Riverside Dental")
    ticket_type = do_create_ticket_type(Actor.cli(), "Disk alerts")
    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    EventRule.objects.create(name="Disk", order=5, integration=integration, condition="disk", customer=customer,
                             ticket_type=ticket_type, priority=2, text_match="regex", text=r"\d+% free",
                             assign_to=dana)
    EventRule.objects.create(name="Global", outcome="ignore")  # global rules are not part of one integration
    path = tmp_path / "config.json"
    call_command("integration", "configure", "Datto Config", "--export", str(path), stdout=StringIO())
    data = json.loads(path.read_text())
    assert [r["name"] for r in data["event_rules"]] == ["Disk"]
    exported = data["event_rules"][0]
    assert (exported["customer"], exported["site"], exported["ticket_type"]) == ("Riverside Dental", None,
                                                                                 "Disk alerts")
    assert exported["assign_to"] == "dana"
    data["event_rules"].append({"name": "Noise", "order": 9, "outcome": "ignore", "text_match": "contains",
                                "text": "heartbeat"})
    path.write_text(json.dumps(data))
    call_command("integration", "configure", "Datto Config", "--import", str(path), stdout=StringIO())
    rules = list(EventRule.objects.filter(integration=integration).order_by("order"))
    assert [(r.name, r.customer, r.ticket_type, r.priority, r.assign_to) for r in rules] == [
        ("Disk", customer, ticket_type, 2, dana), ("Noise", None, None, None, None)]
    assert EventRule.objects.filter(integration=None, name="Global").exists()

    data["event_rules"] = [{"name": "Bad", "text_match": "regex", "text": "(", "customer": "Nobody",
                            "outcome": "explode", "colour": "red"}]
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError) as refused:
        call_command("integration", "configure", "Datto Config", "--import", str(path), stdout=StringIO())
    text = str(refused.value)
    assert "event_rules[0].text: Not a regular expression" in text
    assert "event_rules[0].customer: no customer named 'Nobody'" in text
    assert "event_rules[0].outcome: must be one of open_ticket, note_only, ignore" in text
    assert "event_rules[0].colour: is not a rule field" in text
    assert EventRule.objects.filter(integration=integration).count() == 2  # nothing stored was lost


def test_an_unknown_or_inactive_assignee_fails_the_import_with_its_place_and_keeps_the_rules(tmp_path: Path) -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Datto Assign")
    dana = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    get_user_model().objects.create_user("gone", password="x", is_staff=True, is_active=False)
    EventRule.objects.create(name="Kept", integration=integration, assign_to=dana)
    path = tmp_path / "config.json"
    call_command("integration", "configure", "Datto Assign", "--export", str(path), stdout=StringIO())
    data = json.loads(path.read_text())
    data["event_rules"] = [{"name": "Ok", "assign_to": "DANA"}, {"name": "Typo", "assign_to": "dnaa"},
                           {"name": "Left", "assign_to": "gone"}]
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError) as refused:
        call_command("integration", "configure", "Datto Assign", "--import", str(path), stdout=StringIO())
    text = str(refused.value)
    assert "event_rules[1].assign_to: no user with username 'dnaa'" in text
    assert "event_rules[2].assign_to: User 'gone' is inactive" in text
    assert "event_rules[0]" not in text  # usernames match regardless of case
    assert list(EventRule.objects.filter(integration=integration).values_list("name", "assign_to")) == [
        ("Kept", dana.pk)]


def test_the_rule_form_offers_active_staff_users_and_saves_the_assignee(admin_client: Any, admin_user: Any) -> None:
    users = get_user_model().objects
    dana = users.create_user("dana", password="x", is_staff=True)
    users.create_user("gone", password="x", is_staff=True, is_active=False)
    users.create_user("visitor", password="x")
    form = admin_client.get("/alerts/event-rules/new/").content.decode()
    assert 'name="assign_to"' in form
    assert ">dana<" in form
    assert ">gone<" not in form
    assert ">visitor<" not in form
    refused = admin_client.post("/alerts/event-rules/new/", {"name": "To gone", "order": 1, "outcome": "open_ticket",
                                                            "assign_to": users.get(username="gone").pk})
    assert "Select a valid choice" in refused.content.decode()
    saved = admin_client.post("/alerts/event-rules/new/", {"name": "To Dana", "order": 1, "outcome": "open_ticket",
                                                          "assign_to": dana.pk})
    assert saved.status_code == 302
    assert EventRule.objects.get(name="To Dana").assign_to == dana
    assert "assigned to dana" in admin_client.get("/alerts/event-rules/").content.decode()
