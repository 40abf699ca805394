"""Every registered vendor, against its own emulator over HTTP: add (CLI), test, fetch, refuse a wrong secret,
and a setup form generated from its CredentialSpec."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from django.urls import reverse
from pydantic import SecretStr

from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations.models import Integration, IntegrationStatus

from .test_cli import run

VENDORS = sorted(REGISTRY)


@pytest.fixture(params=VENDORS)
def emulator(request: Any) -> Any:
    with serve_emulator(request.param, seed=11, customers=2, devices=12, alerts=2) as running:
        running.slug = request.param
        yield running


@pytest.mark.django_db
def test_cli_add_test_fetch(emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    spec = REGISTRY[emulator.slug].credentials_model
    secret_keys = spec.secret_keys()
    assert secret_keys, "every vendor declares at least one secret"
    plain = [f"--set={k}={v}" for k, v in emulator.credentials.items() if k not in secret_keys]
    for key in secret_keys:
        monkeypatch.setenv(f"RMMBRIDGE_SECRET_{key.upper()}", "wrong-" + emulator.credentials[key])
    code, out, err = run("add", emulator.slug, "--name", "Vendor test", *plain)
    assert code == 1
    assert err.startswith("invalid_auth: Validation failed – 401 Unauthorized")
    assert not Integration.objects.exists()

    for key in secret_keys:
        monkeypatch.setenv(f"RMMBRIDGE_SECRET_{key.upper()}", emulator.credentials[key])
    code, out, err = run("add", emulator.slug, "--name", "Vendor test", *plain)
    assert code == 0, err
    integration = Integration.objects.get()
    assert integration.status == IntegrationStatus.OK
    assert integration.secret_keys_set() == dict.fromkeys(secret_keys, True)

    assert run("test", "Vendor test")[0] == 0
    code, out, err = run("fetch", "Vendor test", "devices", "--json", "--limit", "100")
    assert code == 0, err
    devices = json.loads(out)
    assert 1 <= len(devices) <= 12
    code, out, _ = run("list", "--json")
    for key in secret_keys:
        assert emulator.credentials[key] not in out
        assert json.loads(out)[0]["credentials"][key] == "set"


@pytest.mark.django_db
def test_add_form_is_generated_from_the_credential_spec(emulator: Any, admin_client: Any) -> None:
    add_url = reverse("integrations:integration_add", args=[emulator.slug])
    assert admin_client.get(add_url)["Location"] == reverse("integrations:integration_list")  # module not enabled
    admin_client.post(reverse("integrations:module_toggle", args=[emulator.slug, "enable"]))
    html = admin_client.get(add_url).content.decode()
    assert f'<dialog id="add-{emulator.slug}" open>' in html  # the list page with this vendor's dialog open
    spec = REGISTRY[emulator.slug].credentials_model
    for name, field in spec.model_fields.items():
        assert f'name="{emulator.slug}-{name}"' in html
        assert (field.title or name) in html
        if field.annotation is SecretStr:
            assert f'type="password" name="{emulator.slug}-{name}"' in html
    data = {f"{emulator.slug}-integration_name": "Form test"}
    data.update({f"{emulator.slug}-{k}": v for k, v in emulator.credentials.items()})
    response = admin_client.post(reverse("integrations:integration_add", args=[emulator.slug]), data)
    assert response.status_code == 302
    integration = Integration.objects.get(name="Form test")
    page = admin_client.get(response["Location"]).content.decode()
    for key in spec.secret_keys():
        assert emulator.credentials[key] not in page
    assert integration.account_name in page
