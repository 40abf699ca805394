"""Changing where an integration's secrets are sent (URL, host, tenant) needs its secrets re-entered, for every
vendor and through every way in (write layer, setup page, Test credentials, CLI)."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError

from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor

from .test_cli import run

VENDORS = sorted(REGISTRY)


@pytest.fixture(params=VENDORS)
def pair(request: Any) -> Iterator[tuple[Any, Any]]:
    """The vendor's real account and a second server of the same kind standing in for an attacker's host."""
    with serve_emulator(request.param, seed=2, customers=1, devices=2, alerts=0) as real, \
            serve_emulator(request.param, seed=3, customers=1, devices=2, alerts=0) as attacker:
        real.slug = request.param
        yield real, attacker


def _create(real: Any) -> Integration:
    return actions.do_create_integration(Actor.cli("test"), real.slug, "Victim", real.credentials)


@pytest.mark.parametrize("slug", VENDORS)
def test_every_credential_spec_declares_where_its_secrets_go(slug: str) -> None:
    spec = REGISTRY[slug].credentials_model
    destinations = spec.destination_keys()
    assert destinations, f"{slug}: no URL/host/tenant field found; set destination_fields on its CredentialSpec"
    assert not set(destinations) & set(spec.secret_keys())


@pytest.mark.django_db
def test_write_layer_refuses_a_new_address_with_the_stored_secrets(pair: tuple[Any, Any]) -> None:
    real, attacker = pair
    spec = REGISTRY[real.slug].credentials_model
    integration = _create(real)
    before = integration.get_credentials()
    url_key = real.state.url_key
    assert url_key in spec.destination_keys()
    for test in (True, False):
        with pytest.raises(ValidationError) as caught:
            actions.do_update_credentials(Actor.cli("test"), integration, {url_key: attacker.url}, test=test)
        message = " ".join(caught.value.messages)
        assert "again" in message
        for key in spec.secret_keys():
            assert (spec.model_fields[key].title or key) in message
    assert attacker.state.request_count == 0  # nothing, let alone a secret, went to the new host
    integration.refresh_from_db()
    assert integration.get_credentials() == before

    # blank secrets count as not re-entered
    blanks = dict.fromkeys(spec.secret_keys(), "")
    with pytest.raises(ValidationError):
        actions.do_update_credentials(Actor.cli("test"), integration, {url_key: attacker.url, **blanks})
    assert attacker.state.request_count == 0

    # re-entering every secret allows the move (here to the second server, with its own secrets)
    moved = {url_key: attacker.url, **{k: attacker.credentials[k] for k in spec.secret_keys()}}
    non_secret = {k: v for k, v in attacker.credentials.items() if k not in spec.secret_keys() and k != url_key}
    result = actions.do_update_credentials(Actor.cli("test"), integration, {**moved, **non_secret}, test=True)
    assert result is not None
    assert result.ok
    assert attacker.state.request_count > 0
    assert integration.get_credentials()[url_key] == attacker.url

    # changing only a non-destination field, or nothing, still keeps the stored secrets
    assert actions.merged_credentials(integration, {url_key: attacker.url + "/"})[url_key] == attacker.url


@pytest.mark.django_db
def test_setup_page_and_test_button_refuse_it(pair: tuple[Any, Any], admin_client: Any) -> None:
    real, attacker = pair
    integration = _create(real)
    before = integration.get_credentials()
    url_key = real.state.url_key
    data = {"integration_name": integration.name, **{k: v for k, v in before.items()
                                          if k not in REGISTRY[real.slug].credentials_model.secret_keys()}}
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False and v is not None}
    data[url_key] = attacker.url
    page = admin_client.post(f"/integrations/{integration.pk}/", data)
    assert page.status_code == 200
    assert "sends the credentials to a new address" in page.content.decode()
    tested = admin_client.post(f"/integrations/{integration.pk}/test/", data, HTTP_HX_REQUEST="true")
    assert "sends the credentials to a new address" in tested.content.decode()
    assert attacker.state.request_count == 0
    integration.refresh_from_db()
    assert integration.get_credentials() == before


@pytest.mark.django_db
def test_cli_refuses_it(pair: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real, attacker = pair
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    integration = _create(real)
    with pytest.raises(CommandError, match="sends the credentials to a new address"):
        run("set", integration.name, f"--set={real.state.url_key}={attacker.url}")
    assert attacker.state.request_count == 0
