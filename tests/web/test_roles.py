"""Roles: administrators, technicians and read-only users, walked over every URL with GET and POST."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import resolve
from tests.servicedesk.factories import AssetFactory

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration, RequestLogEntry
from rmmbridge.servicedesk.roles import ADMIN_VIEWS, ANYONE_VIEWS, required_permission, role_of

from .urlwalk import Endpoint, walk

pytestmark = pytest.mark.django_db
ROLE_NAMES = ("administrator", "technician", "read-only")
# Writes only an administrator may make: credentials and where they go, secrets, settings, configuration.
ADMIN_ONLY_WRITES = {
    "integrations:integration_detail", "integrations:integration_add", "integrations:integration_test",
    "integrations:integration_toggle", "integrations:module_toggle", "alerts:regenerate_secret", "web:settings",
    "sync:integration_setup", "sync:mapping_add", "alerts:rule_new", "alerts:integration_alerting",
}
# Writes a technician may make: tickets, assets, customers, running syncs and previews, imports.
TECHNICIAN_WRITES = {
    "tickets:ticket_create", "tickets:ticket_close", "tickets:ticket_note", "servicedesk:asset_edit",
    "servicedesk:asset_create", "servicedesk:customer_create", "syncjobs:start_run", "syncjobs:run_apply",
    "integrator:run_now", "spreadsheets:upload",
}


def make_user(role: str) -> Any:
    out = io.StringIO()
    call_command("user", "create", f"{role}-person", "--role", role, stdout=out)
    assert "Password: " in out.getvalue()
    return get_user_model().objects.get(username=f"{role}-person")


def endpoints() -> list[Endpoint]:
    asset = AssetFactory()
    integration = Integration.objects.create(vendor="datto_rmm", name="Walked", status="ok")
    RequestLogEntry.objects.create(integration=integration, at=utcnow(), method="POST", url="https://rmm.example/auth",
                                   status=200, duration_ms=1, request_body="REQUEST-BODY-TEXT",
                                   response_body="RESPONSE-BODY-TEXT")
    found = [e for e in walk(extra_values=[str(asset.pk), str(integration.pk)])
             if e.path and not e.login_exempt and resolve(e.path).namespace != "admin"]  # the admin site: staff
    assert len(found) > 40
    return found


def answers(role: str, found: list[Endpoint]) -> dict[tuple[str, str], int]:
    client = Client(raise_request_exception=False)
    client.force_login(make_user(role))
    seen: dict[tuple[str, str], int] = {}
    for endpoint in found:
        assert endpoint.path is not None
        seen[(endpoint.name, "GET")] = client.get(endpoint.path).status_code
        if endpoint.name not in ANYONE_VIEWS:
            seen[(endpoint.name, "POST")] = client.post(endpoint.path, {}).status_code
    return seen


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_url_walk_per_role(role: str) -> None:
    found = endpoints()
    names = {e.name for e in found}
    assert names >= ADMIN_ONLY_WRITES
    assert names >= TECHNICIAN_WRITES
    seen = answers(role, found)
    forbidden = {key for key, status in seen.items() if status == 403}
    if role == "administrator":
        assert forbidden == set()
    elif role == "technician":
        assert {(n, "POST") for n in ADMIN_ONLY_WRITES} <= forbidden
        assert not {(n, "POST") for n in TECHNICIAN_WRITES} & forbidden
        assert {key for key in forbidden if key[1] == "GET"} == {(n, "GET") for n in ADMIN_VIEWS if n in names}
    else:
        assert {key for key in seen if key[1] == "POST"} == {key for key in forbidden if key[1] == "POST"}
        assert {key for key in forbidden if key[1] == "GET"} == {(n, "GET") for n in ADMIN_VIEWS if n in names}
    # every refusal is the policy's, and every answer the policy allows got through it
    user = get_user_model().objects.get(username=f"{role}-person")
    for (name, method), status in seen.items():
        needed = required_permission(name, method)
        expected_refusal = needed is not None and not user.has_perm(needed)
        assert (status == 403) == expected_refusal, (role, name, method, status)


def test_request_log_bodies_only_for_administrators(client: Client) -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Logged", status="ok")
    RequestLogEntry.objects.create(integration=integration, at=utcnow(), method="POST", url="https://rmm.example/auth",
                                   status=200, duration_ms=1, request_body="REQUEST-BODY-TEXT",
                                   response_body="RESPONSE-BODY-TEXT")
    for role, shown in (("technician", False), ("read-only", False), ("administrator", True)):
        client.force_login(make_user(role))
        for path in (f"/integrations/{integration.pk}/log/", f"/integrations/{integration.pk}/"):
            page = client.get(path)
            assert page.status_code == 200
            html = page.content.decode()
            assert "rmm.example/auth" in html  # the request itself is listed for everyone
            assert ("REQUEST-BODY-TEXT" in html) is shown, (role, path)
            assert ("RESPONSE-BODY-TEXT" in html) is shown, (role, path)


def test_non_staff_cannot_change_credentials_or_regenerate_secrets(client: Client) -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Guarded", status="ok")
    integration.set_credentials({"api_url": "https://rmm.example", "api_key": "K" * 20, "api_secret": "S" * 20})
    integration.save()
    client.force_login(make_user("technician"))
    moved = client.post(f"/integrations/{integration.pk}/", {"integration_name": "Guarded",
                                                              "api_url": "https://attacker.example"})
    assert moved.status_code == 403
    assert 'data-role>technician<' in moved.content.decode()
    assert client.post(f"/alerts/integration/{integration.pk}/webhook-secret/").status_code == 403
    integration.refresh_from_db()
    assert integration.get_credentials()["api_url"] == "https://rmm.example"
    assert not hasattr(integration, "alerting") or not integration.alerting.webhook_secret_encrypted


def test_user_cli_creates_lists_and_changes_roles() -> None:
    tech = make_user("technician")
    assert role_of(tech) == "technician"
    assert not tech.is_staff
    out = io.StringIO()
    call_command("user", "set-role", "technician-person", "--role", "administrator", stdout=out)
    tech.refresh_from_db()
    assert role_of(tech) == "administrator"
    assert tech.is_staff
    assert tech.groups.count() == 1
    out = io.StringIO()
    call_command("user", "list", "--json", stdout=out)
    assert {"username": "technician-person", "role": "administrator", "active": True} in json.loads(out.getvalue())
    with pytest.raises(Exception, match="exists already"):
        call_command("user", "create", "technician-person", "--role", "read-only", stdout=io.StringIO())
