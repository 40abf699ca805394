"""API tokens: hashed, shown once, scoped, revocable, expiring, last-used; the CLI and the settings page."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from rmmbridge.api.models import ApiToken
from rmmbridge.api.tokens import do_revoke_token, hash_token, parse_expiry
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import AuditEntry

from .conftest import Caller, make_token

pytestmark = pytest.mark.django_db


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["detail"]
    return body


def test_the_token_is_stored_only_as_its_hash(writer: Caller) -> None:
    stored = ApiToken.objects.get()
    assert writer.token.startswith("rmb_")
    assert len(writer.token) > 40
    assert stored.token_hash == hash_token(writer.token) != writer.token
    assert writer.token[:12] == stored.prefix
    assert not ApiToken.objects.filter(token_hash__contains=writer.token[4:20]).exists()
    assert AuditEntry.objects.filter(object_type="apitoken", action="create").count() == 1


def test_no_token_and_a_wrong_token_get_401_problems(client: Client, writer: Caller) -> None:
    body = problem(client.get("/api/v1/assets/"), 401)
    assert "Authorization: Bearer" in body["detail"]
    assert client.get("/api/v1/assets/").headers["WWW-Authenticate"].startswith("Bearer")
    wrong = Caller(Client(), writer.token[:-3] + "xyz")
    assert "not valid" in problem(wrong.get("/api/v1/assets/"), 401)["detail"]
    basic = client.get("/api/v1/assets/", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert "Bearer" in problem(basic, 401)["detail"]


def test_revoked_and_expired_tokens_are_refused(db: Any) -> None:
    token, raw = make_token("ops", "read")
    caller = Caller(Client(), raw)
    assert caller.get("/api/v1/customers/").status_code == 200
    do_revoke_token(Actor.cli("test"), token)
    assert "revoked" in problem(caller.get("/api/v1/customers/"), 401)["detail"]
    _, old = make_token("ops", "read", expires_in=timedelta(days=1))
    ApiToken.objects.filter(token_hash=hash_token(old)).update(expires_at="2020-01-01T00:00:00Z")
    assert "expired" in problem(Caller(Client(), old).get("/api/v1/customers/"), 401)["detail"]


def test_an_inactive_user_s_token_is_refused(db: Any) -> None:
    token, raw = make_token("leaver", "write")
    token.user.is_active = False
    token.user.save()
    assert "inactive" in problem(Caller(Client(), raw).get("/api/v1/customers/"), 401)["detail"]


def test_a_read_token_cannot_write_and_learns_nothing_about_objects(reader: Caller) -> None:
    body = problem(reader.post("/api/v1/tickets/99999/close/", {"note": "x"}), 403)
    assert "may only read" in body["detail"]
    assert "write" in body["detail"]
    problem(reader.post("/api/v1/tickets/", {"summary": "x", "customer_id": 1}), 403)
    problem(reader.post("/api/v1/integrations/1/jobs/", {"kind": "sync"}), 403)


def test_last_used_is_recorded(reader: Caller) -> None:
    assert ApiToken.objects.get().last_used_at is None
    reader.get("/api/v1/customers/")
    assert ApiToken.objects.get().last_used_at is not None


@pytest.mark.parametrize(("text", "days"), [("90d", 90), ("2w", 14), ("", None), ("never", None), ("12h", 0.5)])
def test_parse_expiry(text: str, days: float | None) -> None:
    got = parse_expiry(text)
    assert (got.total_seconds() / 86400 if got else None) == days


@pytest.mark.parametrize("text", ["soon", "0d", "-5d", "90 years"])
def test_parse_expiry_says_what_to_enter(text: str) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="90d"):
        parse_expiry(text)


def test_cli_creates_lists_and_revokes(admin_user: Any) -> None:
    out, err = StringIO(), StringIO()
    call_command("token", "create", "--user", "admin", "--scope", "write", "--expires", "90d", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert raw.startswith("rmb_")
    assert "shown only now" in err.getvalue()
    token = ApiToken.objects.get()
    assert token.scope == "write"
    assert token.expires_at is not None
    assert token.user == admin_user
    assert Caller(Client(), raw).get("/api/v1/tickets/").status_code == 200
    listing = StringIO()
    call_command("token", "list", stdout=listing)
    assert token.prefix in listing.getvalue()
    assert raw not in listing.getvalue()
    call_command("token", "revoke", token.prefix, stdout=StringIO())
    assert Caller(Client(), raw).get("/api/v1/tickets/").status_code == 401


def test_cli_refuses_an_unknown_user(db: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No user named 'ghost'"):
        call_command("token", "create", "--user", "ghost", "--scope", "read", stdout=StringIO())


def test_settings_page_shows_a_new_token_once_and_revokes(admin_client: Client) -> None:
    page = admin_client.post("/settings/api-tokens/", {"name": "Docs tool", "scope": "read", "expires": "30d"})
    assert page.status_code == 200
    token = ApiToken.objects.get()
    raw = page.context["created"]
    assert raw.startswith(token.prefix)
    assert raw in page.content.decode()
    again = admin_client.get("/settings/api-tokens/").content.decode()
    assert raw not in again
    assert token.prefix in again
    assert "Docs tool" in again
    bad = admin_client.post("/settings/api-tokens/", {"scope": "read", "expires": "soon"}, follow=True)
    assert "90d" in bad.content.decode()
    assert ApiToken.objects.count() == 1
    admin_client.post(f"/settings/api-tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    entry = AuditEntry.objects.filter(object_type="apitoken", action="revoke").get()
    assert entry.source == "ui"


def test_a_write_token_acts_within_its_user_s_role(db: Any) -> None:
    read_only = Caller(Client(), make_token("viewer", "write", role="read-only")[1])
    assert read_only.get("/api/v1/customers/").status_code == 200
    body = problem(read_only.post("/api/v1/tickets/", {"summary": "x", "customer_id": 1}), 403)
    assert "role" in body["detail"]
    technician = Caller(Client(), make_token("tech", "write", role="technician")[1])
    assert technician.post("/api/v1/tickets/99999/close/", {"note": "x"}).status_code == 404
    problem(technician.post("/api/v1/integrations/99999/test/"), 403)
