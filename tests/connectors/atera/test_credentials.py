"""Atera credential validation: application URL forms, loopback for the emulator, API key checks."""

from __future__ import annotations

import pytest

from rmmbridge.connectors.atera.credentials import AteraCredentials
from rmmbridge.connectors.errors import ConnectorConfigError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://app.atera.com", "https://app.atera.com"),
        ("https://app.atera.com/", "https://app.atera.com"),
        (" https://app.atera.com/api/v3/ ", "https://app.atera.com"),
        ("https://APP.atera.com", "https://app.atera.com"),
        ("http://127.0.0.1:8503", "http://127.0.0.1:8503"),
        ("http://localhost:9000/", "http://localhost:9000"),
    ],
)
def test_accepted_urls(url: str, expected: str) -> None:
    spec = AteraCredentials.parse({"api_url": url, "api_key": "k" * 32})
    assert isinstance(spec, AteraCredentials)
    assert spec.api_url == expected


def test_url_defaults_to_app_atera_com() -> None:
    spec = AteraCredentials.parse({"api_key": "k" * 32})
    assert isinstance(spec, AteraCredentials)
    assert spec.api_url == "https://app.atera.com"
    assert spec.secret_keys() == ("api_key",)
    assert "k" * 32 not in repr(spec)


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("app.atera.com", "must start with https://"),
        ("http://app.atera.com", "must use https"),
        ("https://atera.example.com", "is not an Atera address"),
        ("https://app.atera.com/new/admin/api", "without a path"),
        ("https://app.atera.com?x=1", "without query"),
        ("", "enter the Atera application URL"),
    ],
)
def test_rejected_urls_say_what_to_enter(url: str, hint: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        AteraCredentials.parse({"api_url": url, "api_key": "k" * 32})
    assert "Application URL" in info.value.message
    assert hint in info.value.message
    assert "https://app.atera.com" in info.value.message or hint == "without query"


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("", "enter the API key"),
        ("   ", "enter the API key"),
        ("Bearer eyJhbGciOi", "without the 'Bearer ' prefix"),
        ("abc def", "contains spaces"),
    ],
)
def test_bad_keys_say_what_to_fix(key: str, hint: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        AteraCredentials.parse({"api_url": "https://app.atera.com", "api_key": key})
    assert "API Key" in info.value.message
    assert hint in info.value.message


def test_unknown_field_is_refused() -> None:
    with pytest.raises(ConnectorConfigError, match="api_secret"):
        AteraCredentials.parse({"api_key": "k" * 32, "api_secret": "x"})
