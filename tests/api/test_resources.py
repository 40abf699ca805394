"""Each API resource: happy path, filters, cursor pages, validation problems, 404s, writes audited as API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from tests.servicedesk.factories import AssetFactory, CustomerFactory, EndUserFactory, FieldDefinitionFactory

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import ExternalRef, Integration
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AuditEntry
from rmmbridge.tickets.actions import do_assign_ticket, do_create_ticket_type
from rmmbridge.tickets.models import Ticket

from .conftest import Caller
from .test_tokens import problem

pytestmark = pytest.mark.django_db


def walk_pages(caller: Caller, path: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        page = caller.get(path, **params, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.content
        body = page.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("pagination never ended")


def test_cursor_pages_cover_every_customer_once(reader: Caller) -> None:
    made = {CustomerFactory().pk for _ in range(7)}
    items = walk_pages(reader, "/api/v1/customers/", limit=3)
    assert [c["id"] for c in items] == sorted(made)
    first = reader.get("/api/v1/customers/", limit=3).json()
    assert len(first["items"]) == 3
    assert first["next_cursor"]


@pytest.mark.parametrize(("params", "field"), [
    ({"limit": 0}, "limit"), ({"limit": 500}, "limit"), ({"limit": "many"}, "limit"),
    ({"cursor": "not-a-cursor"}, "cursor"), ({"active": "perhaps"}, "active"),
])
def test_bad_list_parameters_are_422_problems_naming_the_parameter(reader: Caller, params: dict[str, Any],
                                                                   field: str) -> None:
    body = problem(reader.get("/api/v1/customers/", **params), 422)
    assert field in body["detail"]


def test_tickets_status_filter_is_validated(reader: Caller) -> None:
    body = problem(reader.get("/api/v1/tickets/", status="done"), 422)
    assert "status" in body["detail"]
    assert "closed" in body["detail"]


def test_customers_sites_users_filters_and_404(reader: Caller) -> None:
    alpha, beta = CustomerFactory(name="Alpha Dental"), CustomerFactory(name="Beta Law")
    beta.active = False
    beta.save()
    person = EndUserFactory(site=alpha.main_site, email="Ann@Alpha.example")
    assert [c["name"] for c in reader.get("/api/v1/customers/", name="alpha").json()["items"]] == ["Alpha Dental"]
    assert [c["id"] for c in reader.get("/api/v1/customers/", active="false").json()["items"]] == [beta.pk]
    assert reader.get(f"/api/v1/customers/{alpha.pk}/").json()["name"] == "Alpha Dental"
    sites = reader.get("/api/v1/sites/", customer=alpha.pk).json()["items"]
    assert [(s["id"], s["is_main"]) for s in sites] == [(alpha.main_site.pk, True)]
    users = reader.get("/api/v1/users/", email="ann@alpha.example").json()["items"]
    assert [u["id"] for u in users] == [person.pk]
    assert reader.get(f"/api/v1/users/{person.pk}/").json()["customer_id"] == alpha.pk
    assert reader.get(f"/api/v1/sites/{alpha.main_site.pk}/").status_code == 200
    body = problem(reader.get("/api/v1/customers/999999/"), 404)
    assert "No customer with id 999999" in body["detail"]


def test_asset_types_and_fields(reader: Caller) -> None:
    asset = AssetFactory()
    field = FieldDefinitionFactory(label="Warranty end", kind="custom_field")
    field.asset_types.add(asset.asset_type)
    types = reader.get("/api/v1/asset-types/").json()["items"]
    assert types[0]["name"] == asset.asset_type.name
    assert types[0]["group"] == asset.asset_type.group.name
    fields = reader.get("/api/v1/fields/").json()["items"]
    assert fields[0]["key"] == f"CF{field.name}"
    assert fields[0]["asset_type_ids"] == [asset.asset_type_id]


def test_assets_filters_values_and_external_refs(reader: Caller) -> None:
    FieldDefinitionFactory(name="serial_number", label="Serial number")
    FieldDefinitionFactory(name="hostname", label="Hostname")
    one = AssetFactory(name="HD-WS01", values={"serial_number": "SN-ABC", "hostname": "hd-ws01"})
    two = AssetFactory(name="HD-WS02", values={"serial_number": "SN-XYZ"}, active=False)
    integration = Integration.objects.create(vendor="datto_rmm", name="Datto")
    now = utcnow()
    ExternalRef.objects.create(integration=integration, kind="asset", external_id="dev-7", object_id=two.pk,
                               first_seen=now, last_seen=now)

    def ids(**params: Any) -> list[int]:
        response = reader.get("/api/v1/assets/", **params)
        assert response.status_code == 200, response.content
        return [a["id"] for a in response.json()["items"]]

    assert ids(serial="sn-abc") == [one.pk]
    assert ids(hostname="HD-WS01") == [one.pk]
    assert ids(customer=two.customer_id) == [two.pk]
    assert ids(active="true") == [one.pk]
    assert ids(external_id="dev-7") == [two.pk]
    assert ids(external_id="dev-7", integration=integration.pk) == [two.pk]
    assert ids(external_id="dev-7", integration=integration.pk + 1) == []
    assert ids(integration=integration.pk) == [two.pk]
    assert ids(asset_type=one.asset_type_id) == [one.pk]
    body = reader.get(f"/api/v1/assets/{two.pk}/").json()
    assert body["values"] == {"serial_number": "SN-XYZ"}
    assert body["external_refs"][0] | {"last_seen": None} == {
        "integration_id": integration.pk, "integration": "Datto", "external_id": "dev-7", "last_seen": None,
        "missing_since": None}
    problem(reader.get("/api/v1/assets/", customer=0), 422)


def test_open_note_and_close_a_ticket_through_the_actions(writer: Caller) -> None:
    asset = AssetFactory()
    ticket_type = do_create_ticket_type(Actor.cli("t"), "Incident")
    opened = writer.post("/api/v1/tickets/", {"summary": "  Printer   jammed ", "customer_id": asset.customer_id,
                                              "asset_ids": [asset.pk], "priority": 2})
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert (body["summary"], body["status"], body["asset_ids"], body["ticket_type_id"], body["priority"]) == (
        "Printer jammed", "new", [asset.pk], ticket_type.pk, 2)
    assert body["assigned_to"] is None
    ticket = Ticket.objects.get(pk=body["id"])
    note = writer.post(f"/api/v1/tickets/{ticket.pk}/notes/", {"text": "Ordered a new drum"})
    assert note.status_code == 201
    assert note.json()["text"] == "Ordered a new drum"
    closed = writer.post(f"/api/v1/tickets/{ticket.pk}/close/", {"note": "Fixed"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    entries = AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk)
    assert {(e.action, e.source, e.actor_label) for e in entries} == {
        ("create", "api", "scripts"), ("note", "api", "scripts"), ("close", "api", "scripts")}
    assert set(ticket.actions.values_list("source", flat=True)) == {"api"}
    again = problem(writer.post(f"/api/v1/tickets/{ticket.pk}/close/", {}), 422)
    assert "already closed" in again["detail"]
    listed = writer.get("/api/v1/tickets/", status="closed", asset=asset.pk).json()["items"]
    assert [t["id"] for t in listed] == [ticket.pk]
    staff = get_user_model().objects.create_user("dana", password="x", is_staff=True)
    do_assign_ticket(Actor.cli("t"), ticket, staff)
    assert writer.get(f"/api/v1/tickets/{ticket.pk}/").json()["assigned_to"] == "dana"


def test_assign_on_create_and_reassign_with_clear_problems(writer: Caller, reader: Caller) -> None:
    users = get_user_model().objects
    dana = users.create_user("dana", password="x", is_staff=True)
    users.create_user("gone", password="x", is_staff=True, is_active=False)
    users.create_user("viewer", password="x", is_staff=False)
    customer = CustomerFactory()
    do_create_ticket_type(Actor.cli("t"), "Incident")
    opened = writer.post("/api/v1/tickets/", {"summary": "Printer jammed", "customer_id": customer.pk,
                                              "assigned_to": "dana"})
    assert opened.status_code == 201, opened.content
    body = opened.json()
    assert (body["assigned_to"], body["flapping"]) == ("dana", False)
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.assigned_to == dana
    for who, says in (("nobody", "assigned_to: there is no user named 'nobody'"),
                      ("gone", "assigned_to: User 'gone' is inactive and cannot be assigned tickets"),
                      ("viewer", "assigned_to: User 'viewer' is not staff and cannot be assigned tickets")):
        refused = problem(writer.post("/api/v1/tickets/", {"summary": "x", "customer_id": customer.pk,
                                                           "assigned_to": who}), 422)
        assert refused["detail"].startswith(says), refused
        assert refused["errors"][0]["field"] == "assigned_to"
        again = problem(writer.post(f"/api/v1/tickets/{ticket.pk}/assign/", {"assigned_to": who}), 422)
        assert again["detail"].startswith(says), again
    assert Ticket.objects.count() == 1
    ticket.refresh_from_db()
    assert ticket.assigned_to == dana  # refused reassignments changed nothing
    problem(reader.post(f"/api/v1/tickets/{ticket.pk}/assign/", {"assigned_to": None}), 403)
    problem(writer.post("/api/v1/tickets/987654/assign/", {"assigned_to": None}), 404)
    problem(writer.post(f"/api/v1/tickets/{ticket.pk}/assign/", {}), 422)  # say null to unassign
    unassigned = writer.post(f"/api/v1/tickets/{ticket.pk}/assign/", {"assigned_to": None})
    assert unassigned.status_code == 200, unassigned.content
    assert unassigned.json()["assigned_to"] is None
    back = writer.post(f"/api/v1/tickets/{ticket.pk}/assign/", {"assigned_to": "dana"}).json()
    assert back["assigned_to"] == "dana"
    audit = [e.changes for e in AuditEntry.objects.filter(object_type="ticket", object_id=ticket.pk,
                                                           action="assign", source="api").order_by("id")]
    assert audit == [{"assigned_to": ["dana", None]}, {"assigned_to": [None, "dana"]}]
    assert list(ticket.actions.filter(kind="assigned").values_list("text", flat=True)) == [
        "Unassigned.", "Assigned to dana."]


@pytest.mark.parametrize(("body", "says"), [
    ({"summary": "x"}, "customer_id"),
    ({"summary": "", "customer_id": 1}, "summary"),
    ({"summary": "x", "customer_id": 999999}, "no customer with id 999999"),
    ({"summary": "x", "customer_id": "CUST", "priority": 9}, "customer_id"),
    ({"summary": "x", "customer_id": 1, "priority": 9}, "priority"),
])
def test_opening_a_bad_ticket_says_what_to_fix(writer: Caller, body: dict[str, Any], says: str) -> None:
    CustomerFactory()
    do_create_ticket_type(Actor.cli("t"), "Incident")
    assert says in problem(writer.post("/api/v1/tickets/", body), 422)["detail"]
    assert Ticket.objects.count() == 0


def test_a_foreign_asset_is_refused_by_the_action(writer: Caller) -> None:
    mine, foreign = CustomerFactory(), AssetFactory()
    do_create_ticket_type(Actor.cli("t"), "Incident")
    body = problem(writer.post("/api/v1/tickets/", {"summary": "x", "customer_id": mine.pk,
                                                    "asset_ids": [foreign.pk]}), 422)
    assert "belong to another customer" in body["detail"]
    body = problem(writer.post("/api/v1/tickets/", {"summary": "x", "customer_id": mine.pk, "asset_ids": [424242]}),
                   422)
    assert "no asset with id 424242" in body["detail"]


def test_malformed_json_is_a_problem(writer: Caller) -> None:
    response = writer.client.post("/api/v1/tickets/", "{not json", content_type="application/json",
                                  headers=writer.headers())
    assert response.status_code in {400, 422}
    assert response["Content-Type"] == "application/problem+json"


def test_integrations_list_never_shows_credentials(reader: Caller) -> None:
    integration = Integration(vendor="datto_rmm", name="Datto")
    integration.set_credentials({"api_url": "https://x-api.centrastage.net", "api_key": "K", "api_secret": "TOPSECRET"})
    integration.save()
    response = reader.get("/api/v1/integrations/")
    assert response.json()["items"][0]["name"] == "Datto"
    assert b"TOPSECRET" not in response.content
    assert b"credentials" not in response.content
    assert reader.get(f"/api/v1/integrations/{integration.pk}/").json()["vendor_name"] == "Datto RMM"


def test_session_auth_reads_and_needs_csrf_to_write(admin_user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get("/api/v1/customers/").status_code == 200
    body = problem(client.post("/api/v1/tickets/", {}, content_type="application/json"), 403)
    assert "CSRF" in body["detail"]


def test_openapi_document_and_docs_page(admin_client: Client, reader: Caller) -> None:
    problem(Client().get("/api/v1/openapi.json"), 401)
    anonymous_docs = Client().get("/api/v1/docs")
    assert anonymous_docs.status_code == 302
    assert anonymous_docs["Location"].startswith("/login/")
    schema = reader.get("/api/v1/openapi.json").json()
    assert {"/api/v1/assets/", "/api/v1/tickets/{ticket_id}/close/", "/api/v1/integrations/{integration_id}/jobs/",
            "/api/v1/sync-runs/{run_id}/rows/", "/api/v1/alert-events/"} <= set(schema["paths"])
    assert "application/problem+json" in schema["paths"]["/api/v1/assets/"]["get"]["responses"]["422"]["content"]
    assert schema["components"]["securitySchemes"]["ApiAuth"] == {"type": "http", "scheme": "bearer"}
    page = admin_client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "/static/ninja/swagger-ui.css" in page
    assert "cdn" not in page.lower()
    assert "https://" not in page
    assert "http://" not in page


def test_sync_runs_and_alert_events_lists_filter_by_integration(reader: Caller) -> None:
    from rmmbridge.alerts.models import AlertEvent
    from rmmbridge.sync.models import SyncPlanRow, SyncRun

    one = Integration.objects.create(vendor="datto_rmm", name="One")
    two = Integration.objects.create(vendor="ninjaone", name="Two")
    run = SyncRun.objects.create(integration=one, started_at=utcnow(), status="planned", dry_run=True)
    SyncRun.objects.create(integration=two, started_at=utcnow())
    SyncPlanRow.objects.create(run=run, position=1, entity="assets", kind="create", external_id="d-1",
                               label="WS1", reason="no asset matched by serial number")
    AlertEvent.objects.create(channel="poll", integration=two, received_at=utcnow(), raw=b"{}", summary="Disk")
    runs = reader.get("/api/v1/sync-runs/", integration=one.pk).json()["items"]
    assert [r["id"] for r in runs] == [run.pk]
    rows = reader.get(f"/api/v1/sync-runs/{run.pk}/rows/").json()["items"]
    assert rows[0]["reason"] == "no asset matched by serial number"
    events = reader.get("/api/v1/alert-events/", integration=two.pk).json()["items"]
    assert [e["summary"] for e in events] == ["Disk"]
    assert reader.get("/api/v1/alert-events/", integration=one.pk).json()["items"] == []
    problem(reader.get("/api/v1/sync-runs/424242/rows/"), 404)
    assert "status" in problem(reader.get("/api/v1/alert-events/", status="weird"), 422)["detail"]
