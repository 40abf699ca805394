"""Credentials at rest: encrypted in the database column, readable after key rotation, request log bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection

from rmmbridge.common.secrets import SecretDecryptError
from rmmbridge.connectors.http import RequestLogEntry as HttpEntry
from rmmbridge.integrations import actions
from rmmbridge.integrations.connect import RequestLogSink, persist_entries, prune_request_log
from rmmbridge.integrations.models import Integration, RequestLogEntry
from rmmbridge.servicedesk.actions import Actor

SECRET = "s3cr3t-value-that-must-never-leak"


def _raw_column(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM integrations_integration WHERE id = %s", [pk])
        return str(cursor.fetchone()[0])


@pytest.fixture
def one_key(monkeypatch: pytest.MonkeyPatch) -> str:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", key)
    return key


@pytest.mark.django_db
def test_credentials_are_encrypted_at_rest(one_key: str) -> None:
    integration = Integration(vendor="datto_rmm", name="Acme")
    integration.set_credentials({"api_url": "https://x.example", "api_key": "KEY1", "api_secret": SECRET})
    integration.save()
    raw = _raw_column(integration.pk)
    assert raw
    assert SECRET not in raw
    assert "api_secret" not in raw
    assert Integration.objects.get(pk=integration.pk).get_credentials()["api_secret"] == SECRET


@pytest.mark.django_db
def test_rotation_keeps_credentials_readable(monkeypatch: pytest.MonkeyPatch, one_key: str) -> None:
    integration = Integration(vendor="datto_rmm", name="Acme")
    integration.set_credentials({"api_secret": SECRET})
    integration.save()
    before = _raw_column(integration.pk)

    new_key = Fernet.generate_key().decode()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", f"{new_key},{one_key}")
    # Still readable with the old key second in the list, before rotation.
    assert Integration.objects.get(pk=integration.pk).get_credentials()["api_secret"] == SECRET
    assert actions.do_rotate_encryption(Actor.cli()) == 1
    after = _raw_column(integration.pk)
    assert after != before
    assert SECRET not in after

    # After rotation the old key can be retired.
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", new_key)
    assert Integration.objects.get(pk=integration.pk).get_credentials()["api_secret"] == SECRET

    # With only an unrelated key the error says what to restore, and nothing is changed.
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    with pytest.raises(SecretDecryptError, match="no longer holds the key"):
        Integration.objects.get(pk=integration.pk).get_credentials()
    with pytest.raises(ValidationError, match="cannot be decrypted"):
        actions.do_rotate_encryption(Actor.cli())
    assert _raw_column(integration.pk) == after


def _entry(n: int, body: str = "") -> HttpEntry:
    return HttpEntry(at=datetime(2026, 1, 1, tzinfo=UTC), method="GET", url=f"https://x.example/api/{n}",
                     status=200, duration_ms=1.5, request_body="", response_body=body, error="")


@pytest.mark.django_db
def test_request_log_is_bounded_and_prunes_oldest() -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Acme")
    other = Integration.objects.create(vendor="datto_rmm", name="Other")
    persist_entries(other.pk, [_entry(0)], keep=5)
    assert persist_entries(integration.pk, [_entry(n) for n in range(8)], keep=5) == 8
    urls = list(RequestLogEntry.objects.filter(integration=integration).values_list("url", flat=True))
    assert urls == [f"https://x.example/api/{n}" for n in (7, 6, 5, 4, 3)]  # newest first
    assert prune_request_log(integration.pk, keep=2) == 3
    assert RequestLogEntry.objects.filter(integration=integration).count() == 2
    assert RequestLogEntry.objects.filter(integration=other).count() == 1


@pytest.mark.django_db
def test_request_log_sink_flushes_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RMMBRIDGE_REQUEST_LOG_MAX", "10")
    integration = Integration.objects.create(vendor="datto_rmm", name="Acme")
    sink = RequestLogSink(integration.pk, flush_every=4)
    for n in range(6):
        sink(_entry(n))
    assert RequestLogEntry.objects.filter(integration=integration).count() == 4
    sink.flush()
    assert RequestLogEntry.objects.filter(integration=integration).count() == 6
    for n in range(20):
        sink(_entry(n))
    sink.flush()
    assert RequestLogEntry.objects.filter(integration=integration).count() == 10


@pytest.mark.django_db
def test_same_account_is_unique_per_vendor_in_the_database() -> None:
    from django.db import IntegrityError, transaction

    Integration.objects.create(vendor="datto_rmm", name="One", account_id="acct-1")
    Integration.objects.create(vendor="ninjaone", name="Other vendor", account_id="acct-1")
    Integration.objects.create(vendor="datto_rmm", name="Untested A")
    Integration.objects.create(vendor="datto_rmm", name="Untested B")  # blank account ids do not clash
    with pytest.raises(IntegrityError), transaction.atomic():
        Integration.objects.create(vendor="datto_rmm", name="Two", account_id="acct-1")


@pytest.mark.django_db
def test_lost_key_is_reported_not_crashed(monkeypatch: pytest.MonkeyPatch, one_key: str, admin_client: object) -> None:
    integration = Integration(vendor="datto_rmm", name="Acme")
    integration.set_credentials({"api_url": "https://x.example", "api_key": "KEY1", "api_secret": SECRET})
    integration.save()
    monkeypatch.setenv("RMMBRIDGE_ENCRYPTION_KEYS", Fernet.generate_key().decode())
    html = admin_client.get(f"/integrations/{integration.pk}/").content.decode()  # type: ignore[attr-defined]
    assert "cannot be decrypted" in html
    result = actions.do_test_integration(Actor.cli(), integration)
    assert (result.ok, result.error_key) == (False, "cannot_decrypt")
    integration.refresh_from_db()
    assert integration.status == "failing"
    assert "RMMBRIDGE_ENCRYPTION_KEYS" in integration.last_error
