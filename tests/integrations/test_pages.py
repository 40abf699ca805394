"""Integrations pages through the Django test client, against the Datto RMM emulator over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from rmmbridge.integrations.models import Integration, IntegrationModule, IntegrationStatus
from rmmbridge.integrations.panels import SETUP_PANELS

HX = {"HTTP_HX_REQUEST": "true"}


def _form(creds: dict[str, str], prefix: str = "", name: str = "Acme") -> dict[str, str]:
    data = {f"{prefix}integration_name": name}
    data.update({f"{prefix}{k}": v for k, v in creds.items()})
    return data


@pytest.mark.django_db
def test_list_shows_every_vendor_as_a_module(admin_client: Any) -> None:
    from rmmbridge.connectors import REGISTRY

    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    for cls in REGISTRY.values():
        assert cls.name in html
        assert f"Enable {cls.name}" in html
    assert "reads alert e-mails" in html  # capabilities in words, not slugs
    assert "alert_email" not in html
    assert "alerts_poll" not in html

    response = admin_client.post(reverse("integrations:module_toggle", args=["datto_rmm", "enable"]))
    assert response.status_code == 302
    assert IntegrationModule.objects.get(vendor="datto_rmm").enabled
    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    assert "Disable Datto RMM" in html
    assert 'type="password"' in html  # the add dialog's secret field


@pytest.mark.django_db
def test_add_dialog_tests_before_saving(admin_client: Any, datto_creds: dict[str, str]) -> None:
    url = reverse("integrations:integration_add", args=["datto_rmm"])
    wrong = {**datto_creds, "api_secret": "wrong-wrong-wrong"}
    response = admin_client.post(url, _form(wrong, "datto_rmm-"), **HX)
    html = response.content.decode()
    assert "Validation failed – 401 Unauthorized" in html
    assert "wrong-wrong-wrong" not in html
    assert not Integration.objects.exists()

    response = admin_client.post(url, _form({k: v for k, v in datto_creds.items() if k != "api_secret"},
                                            "datto_rmm-"), **HX)
    assert "This field is required" in response.content.decode()

    response = admin_client.post(url, _form(datto_creds, "datto_rmm-"), **HX)
    integration = Integration.objects.get()
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("integrations:integration_detail", args=[integration.pk])
    assert integration.status == IntegrationStatus.OK

    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    assert "Acme" in html
    assert datto_creds["api_secret"] not in html


@pytest.mark.django_db
def test_setup_page_never_renders_secret_and_tests_inline(admin_client: Any, integration: Integration,
                                                         datto_creds: dict[str, str]) -> None:
    detail = reverse("integrations:integration_detail", args=[integration.pk])
    html = admin_client.get(detail).content.decode()
    secret = datto_creds["api_secret"]
    assert secret not in html
    assert 'placeholder="set"' in html
    assert "Test credentials" in html
    assert datto_creds["api_url"] in html  # non-secret values are shown
    assert "Recent requests" in html

    test_url = reverse("integrations:integration_test", args=[integration.pk])
    blank_secret = {**_form(datto_creds, name=integration.name), "api_secret": ""}
    html = admin_client.post(test_url, blank_secret, **HX).content.decode()
    assert "Validation successful" in html
    assert 'id="integration-facts"' in html  # out-of-band status update
    assert secret not in html

    html = admin_client.post(test_url, {**blank_secret, "api_secret": "typo-typo-typo"}, **HX).content.decode()
    assert "Validation failed – 401 Unauthorized" in html
    assert "stored credentials were kept" in html
    integration.refresh_from_db()
    assert integration.get_credentials()["api_secret"] == secret

    # Save with a blank secret keeps it; rename works.
    response = admin_client.post(detail, {**blank_secret, "integration_name": "Acme renamed"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Acme renamed"
    assert integration.get_credentials()["api_secret"] == secret

    log_html = admin_client.get(reverse("integrations:request_log", args=[integration.pk])).content.decode()
    assert "/api/v2/account" in log_html
    assert secret not in log_html


@pytest.mark.django_db
def test_setup_panels_render_as_tabs(admin_client: Any, integration: Integration) -> None:
    SETUP_PANELS.append(("Request log again", "integrations:request_log"))
    SETUP_PANELS.append(("Missing app", "nosuchapp:setup"))
    try:
        html = admin_client.get(reverse("integrations:integration_detail", args=[integration.pk])).content.decode()
    finally:
        del SETUP_PANELS[-2:]
    assert "Request log again" in html
    assert "Missing app" not in html


@pytest.mark.django_db
def test_disable_from_setup_page(admin_client: Any, integration: Integration) -> None:
    response = admin_client.post(reverse("integrations:integration_toggle", args=[integration.pk, "disable"]))
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.status == IntegrationStatus.DISABLED


@pytest.mark.django_db
def test_request_log_filters_failed_requests(admin_client: Any, integration: Integration,
                                             datto_creds: dict[str, str]) -> None:
    from rmmbridge.integrations import actions

    actions.do_update_credentials(actions.Actor.cli(), integration, {"api_secret": "wrong-wrong-wrong"})
    actions.do_test_integration(actions.Actor.cli(), integration)
    url = reverse("integrations:request_log", args=[integration.pk])
    everything = admin_client.get(url).content.decode()
    failed = admin_client.get(url + "?failed=1").content.decode()
    assert everything.count("/api/v2/account<") == 1  # the successful account call when it was added
    assert "/api/v2/account<" not in failed
    assert "/auth/oauth/token" in failed
    assert "wrong-wrong-wrong" not in everything


@pytest.mark.django_db
def test_save_tests_changed_credentials_only(admin_client: Any, integration: Integration,
                                             datto_creds: dict[str, str], closed_port_url: str) -> None:
    detail = reverse("integrations:integration_detail", args=[integration.pk])
    form = {**_form(datto_creds, name=integration.name), "api_key": "", "api_secret": ""}
    # The RMM being unreachable does not block a rename: unchanged credentials are not re-tested.
    # a new address needs the secrets again (they are never sent to a changed address on their own)
    html = admin_client.post(detail, {**form, "api_url": closed_port_url}).content.decode()
    assert "sends the credentials to a new address" in html
    moved = {**form, "api_url": closed_port_url, "api_key": datto_creds["api_key"],
             "api_secret": datto_creds["api_secret"]}
    html = admin_client.post(detail, moved).content.decode()
    assert "Validation failed" in html
    assert "stored credentials were kept" in html
    integration.refresh_from_db()
    assert integration.get_credentials()["api_url"] == datto_creds["api_url"]

    response = admin_client.post(detail, {**form, "integration_name": "Renamed"})
    assert response.status_code == 302
    response = admin_client.post(detail, {**moved, "integration_name": "Renamed", "skip_test": "1"})
    assert response.status_code == 302
    integration.refresh_from_db()
    assert integration.name == "Renamed"
    assert integration.get_credentials()["api_url"] == closed_port_url
    assert integration.get_credentials()["api_secret"] == datto_creds["api_secret"]
    assert integration.status == IntegrationStatus.NEW


@pytest.mark.django_db
def test_list_shows_each_integrations_scheduled_runs(admin_client: Any, datto_creds: dict[str, str]) -> None:
    from rmmbridge.integrations.actions import do_create_integration
    from rmmbridge.integrator.actions import do_update_schedule
    from rmmbridge.servicedesk.actions import Actor

    integration = do_create_integration(Actor.cli(), "datto_rmm", "Acme", datto_creds)
    IntegrationModule.objects.update_or_create(vendor="datto_rmm", defaults={"enabled": True})
    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    assert f'id="integrator-summary-{integration.pk}"' in html
    assert "Off" in html
    assert "not scheduled" in html

    do_update_schedule(Actor.cli(), integration, {"enabled": True})
    html = admin_client.get(reverse("integrations:integration_list")).content.decode()
    assert "not scheduled" not in html
    assert "Next run" in html
