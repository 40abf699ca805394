"""NinjaOne credential validation: instance URLs, required fields, secrets never shown."""

from __future__ import annotations

import pytest

from rmmbridge.connectors.errors import ConnectorConfigError
from rmmbridge.connectors.ninjaone.credentials import NinjaOneCredentials

GOOD = {"client_id": "abc", "client_secret": "s3cret-value"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.ninjarmm.com", "https://app.ninjarmm.com"),
        ("  https://EU.ninjarmm.com/  ", "https://eu.ninjarmm.com"),
        ("https://oc.ninjarmm.com", "https://oc.ninjarmm.com"),
        ("https://mymsp.rmmservice.ninjaone.com", "https://mymsp.rmmservice.ninjaone.com"),
        ("http://127.0.0.1:8502", "http://127.0.0.1:8502"),
        ("http://localhost:8502/", "http://localhost:8502"),
    ],
)
def test_accepted_instance_urls_are_normalized(url: str, expected: str) -> None:
    creds = NinjaOneCredentials.parse({"instance_url": url, **GOOD})
    assert creds.instance_url == expected


@pytest.mark.parametrize(
    ("url", "fix"),
    [
        ("app.ninjarmm.com", "must start with https://"),
        ("http://app.ninjarmm.com", "must use https"),
        ("https://ninjarmm.evil.example", "is not a NinjaOne instance"),
        ("https://app.ninjarmm.com/v2", "without a path"),
        ("https://app.ninjarmm.com/?x=1", "without query"),
        ("", "enter your NinjaOne instance URL"),
    ],
)
def test_bad_instance_urls_say_what_to_fix(url: str, fix: str) -> None:
    with pytest.raises(ConnectorConfigError, match="Instance URL") as info:
        NinjaOneCredentials.parse({"instance_url": url, **GOOD})
    assert fix in info.value.message


def test_missing_fields_are_all_named() -> None:
    with pytest.raises(ConnectorConfigError) as info:
        NinjaOneCredentials.parse({"instance_url": "https://app.ninjarmm.com", "client_secret": " "})
    assert "Client ID" in info.value.message
    assert "Client Secret" in info.value.message


def test_secret_is_declared_and_never_shown() -> None:
    creds = NinjaOneCredentials.parse({"instance_url": "https://app.ninjarmm.com", **GOOD})
    assert NinjaOneCredentials.secret_keys() == ("client_secret",)
    assert "s3cret-value" not in repr(creds)
    assert creds.secret_values() == ["s3cret-value"]
