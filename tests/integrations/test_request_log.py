"""The request log of a real fetch over HTTP: persisted, bounded per integration, tokens and secrets redacted."""

from __future__ import annotations

from typing import Any

import pytest

from rmmbridge.connectors.testing.server import serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.connect import connector_for
from rmmbridge.integrations.models import RequestLogEntry
from rmmbridge.servicedesk.actions import Actor


@pytest.mark.django_db
def test_paged_fetch_is_logged_bounded_and_redacted(monkeypatch: pytest.MonkeyPatch, admin_client: Any) -> None:
    monkeypatch.setenv("RMMBRIDGE_REQUEST_LOG_MAX", "4")
    with serve_emulator("datto_rmm", seed=3, customers=2, devices=30, alerts=0, page_size=5) as emulator:
        credentials = {**emulator.credentials, "fetch_audits": False}  # pages only, no audit requests
        integration = actions.do_create_integration(Actor.cli("test"), "datto_rmm", "Paged", credentials)
        with connector_for(integration) as connector:
            devices = list(connector.iter_devices())
        tokens = list(emulator.state.tokens)
    assert len(devices) >= 25
    entries = list(RequestLogEntry.objects.filter(integration=integration))
    assert len(entries) == 4  # bounded: only the newest are kept
    assert all("devices" in e.url for e in entries)  # the oldest (token, account) were pruned
    assert entries[0].id > entries[-1].id  # newest first
    assert all(e.status == 200 and e.duration_ms >= 0 for e in entries)

    secrets = [emulator.credentials["api_key"], emulator.credentials["api_secret"], *tokens]
    assert tokens
    html = admin_client.get(f"/integrations/{integration.pk}/log/").content.decode()
    for entry in RequestLogEntry.objects.all():
        text = f"{entry.url} {entry.request_body} {entry.response_body} {entry.error}"
        for secret in secrets:
            assert secret not in text
    for secret in secrets:
        assert secret not in html
    assert "/api/v2/account/devices" in html


@pytest.mark.django_db
@pytest.mark.parametrize(("slug", "key"), [("datto_rmm", "api_secret"), ("cw_automate", "password")])
def test_encoded_secrets_never_reach_the_request_log(slug: str, key: str, admin_client: Any) -> None:
    """Datto sends its secret form-encoded, Automate inside JSON: neither encoding is stored or shown."""
    import json
    from urllib.parse import quote, quote_plus

    secret = 'Pa ss"w\\rd+KEY@CAN/RY'
    with serve_emulator(slug, seed=5, customers=1, devices=3, alerts=0) as emulator:
        emulator.state.credentials[key] = secret
        credentials = {**emulator.credentials, key: secret}
        integration = actions.do_create_integration(Actor.cli("test"), slug, "Encoded", credentials)
        with connector_for(integration) as connector:
            assert list(connector.iter_devices())
    tail = secret.split(" ", 1)[1]  # a key=value pattern stopping at the space would leave this part
    forms = [f(v) for v in (secret, tail) for f in (str, lambda t: json.dumps(t)[1:-1], lambda t: quote(t, safe=""),
                                                    lambda t: quote_plus(t, safe=""))]
    entries = list(RequestLogEntry.objects.filter(integration=integration))
    assert entries
    assert any("***" in e.request_body for e in entries)  # the login body was logged, redacted
    html = admin_client.get(f"/integrations/{integration.pk}/log/").content.decode()
    for entry in entries:
        text = f"{entry.url} {entry.request_body} {entry.response_body} {entry.error}"
        for form in forms:
            assert form not in text
            assert form not in html
