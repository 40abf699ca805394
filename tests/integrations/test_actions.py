"""The integrations write layer against the Datto RMM emulator over HTTP: test, refuse, update, status."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from rmmbridge.integrations import actions
from rmmbridge.integrations.connect import connector_for
from rmmbridge.integrations.models import Integration, IntegrationModule, IntegrationStatus, RequestLogEntry
from rmmbridge.servicedesk.models import AuditEntry

from .conftest import secret_of

ACTOR = actions.Actor.cli("test")


def _log_text(integration: Integration) -> str:
    return "\n".join(
        f"{e.url} {e.request_body} {e.response_body} {e.error}"
        for e in RequestLogEntry.objects.filter(integration=integration)
    )


@pytest.mark.django_db
def test_create_tests_credentials_and_stores_account(integration: Integration, datto_creds: dict[str, str],
                                                     datto: Any) -> None:
    assert integration.status == IntegrationStatus.OK
    assert integration.account_id
    assert integration.account_name
    assert integration.last_tested_at is not None
    assert integration.get_credentials() == {**datto_creds, "fetch_audits": True}  # the setting's default is kept
    assert integration.secret_keys_set()["api_secret"] is True
    assert IntegrationModule.objects.get(vendor="datto_rmm").enabled
    # The test's requests are in the request log, redacted.
    assert RequestLogEntry.objects.filter(integration=integration).exists()
    text = _log_text(integration)
    assert "/auth/oauth/token" in text
    for secret in [datto_creds["api_key"], secret_of(datto_creds), *datto.state.tokens]:
        assert secret not in text
    audit = AuditEntry.objects.get(object_type="integration", object_id=integration.pk, action="create")
    assert secret_of(datto_creds) not in str(audit.changes)
    assert audit.changes["credentials"][1]["api_secret"] == "set"


@pytest.mark.django_db
def test_invalid_credentials_are_refused_with_halo_message(datto_creds: dict[str, str]) -> None:
    wrong = {**datto_creds, "api_secret": "definitely-wrong-secret"}
    with pytest.raises(actions.CredentialTestFailed) as caught:
        actions.do_create_integration(ACTOR, "datto_rmm", "Wrong", wrong)
    assert caught.value.result.error_key == "invalid_auth"
    assert "Validation failed – 401 Unauthorized" in caught.value.result.message
    assert not Integration.objects.exists()


@pytest.mark.django_db
def test_malformed_credentials_name_the_field(datto_creds: dict[str, str]) -> None:
    missing = {k: v for k, v in datto_creds.items() if k != "api_secret"}
    with pytest.raises(ValidationError) as caught:
        actions.do_create_integration(ACTOR, "datto_rmm", "Missing", missing)
    assert "Invalid credentials" in " ".join(caught.value.messages)
    with pytest.raises(ValidationError, match="Unknown RMM vendor 'nosuch'"):
        actions.do_create_integration(ACTOR, "nosuch", "X", datto_creds)
    with pytest.raises(ValidationError, match="name is required"):
        actions.do_create_integration(ACTOR, "datto_rmm", "  ", datto_creds)
    assert not Integration.objects.exists()


@pytest.mark.django_db
def test_cannot_connect_is_reported(datto_creds: dict[str, str], closed_port_url: str) -> None:
    with pytest.raises(actions.CredentialTestFailed) as caught:
        actions.do_create_integration(ACTOR, "datto_rmm", "Nowhere", {**datto_creds, "api_url": closed_port_url})
    assert caught.value.result.error_key == "cannot_connect"
    assert caught.value.result.message.startswith("Validation failed")


@pytest.mark.django_db
def test_same_account_cannot_be_added_twice(integration: Integration, datto_creds: dict[str, str]) -> None:
    with pytest.raises(actions.CredentialTestFailed, match="already connected as integration 'Acme Datto'"):
        actions.do_create_integration(ACTOR, "datto_rmm", "Acme again", datto_creds)
    with pytest.raises(ValidationError, match="already exists"):
        actions.do_create_integration(ACTOR, "datto_rmm", "acme datto", datto_creds, test=False)
    assert Integration.objects.count() == 1


@pytest.mark.django_db
def test_update_keeps_blank_secret_and_refuses_rejected_credentials(
    integration: Integration, datto_creds: dict[str, str]
) -> None:
    result = actions.do_update_credentials(ACTOR, integration, {"api_secret": ""}, test=True)
    assert result is not None
    assert result.ok
    assert integration.get_credentials()["api_secret"] == secret_of(datto_creds)

    with pytest.raises(actions.CredentialTestFailed, match="401 Unauthorized"):
        actions.do_update_credentials(ACTOR, integration, {"api_secret": "wrong-wrong-wrong"}, test=True)
    integration.refresh_from_db()
    assert integration.get_credentials()["api_secret"] == secret_of(datto_creds)

    with pytest.raises(ValidationError, match="Unknown credential key"):
        actions.do_update_credentials(ACTOR, integration, {"password": "x"})


@pytest.mark.django_db
def test_test_integration_sets_status(integration: Integration, closed_port_url: str) -> None:
    actions.do_update_credentials(ACTOR, integration, {"api_secret": "wrong-wrong-wrong"})
    assert integration.status == IntegrationStatus.NEW
    result = actions.do_test_integration(ACTOR, integration)
    assert not result.ok
    assert result.error_key == "invalid_auth"
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.NEEDS_REAUTH
    assert "401 Unauthorized" in integration.last_error

    secrets = {k: integration.get_credentials()[k] for k in ("api_key", "api_secret")}
    actions.do_update_credentials(ACTOR, integration, {"api_url": closed_port_url, **secrets})
    result = actions.do_test_integration(ACTOR, integration)
    assert result.error_key == "cannot_connect"
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.FAILING


@pytest.mark.django_db
def test_enable_disable_and_needs_reauth(integration: Integration) -> None:
    assert actions.do_set_enabled(ACTOR, integration, False)
    integration.refresh_from_db()
    assert (integration.enabled, integration.status) == (False, IntegrationStatus.DISABLED)
    assert not actions.do_set_enabled(ACTOR, integration, False)
    actions.do_set_enabled(ACTOR, integration, True)
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.OK

    actions.do_mark_needs_reauth(integration, "Validation failed – 401 Unauthorized")
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.NEEDS_REAUTH

    actions.do_set_module_enabled(ACTOR, "datto_rmm", False)
    integration.refresh_from_db()
    assert not integration.enabled
    assert not IntegrationModule.objects.get(vendor="datto_rmm").enabled


@pytest.mark.django_db
def test_connector_for_streams_devices_and_logs_requests(integration: Integration, datto: Any,
                                                         datto_creds: dict[str, str]) -> None:
    before = RequestLogEntry.objects.filter(integration=integration).count()
    with connector_for(integration) as connector:
        devices = list(connector.iter_devices())
    assert len(devices) >= 20
    assert all(d.external_id and d.hostname for d in devices)
    assert RequestLogEntry.objects.filter(integration=integration).count() > before
    text = _log_text(integration)
    assert secret_of(datto_creds) not in text
    assert "devices" in text
