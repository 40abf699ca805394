"""Addigy credentials: Halo's keys, the API v2 key as a secret, API URL validation that accepts loopback."""

from __future__ import annotations

import pytest

from rmmbridge.connectors.addigy.credentials import AddigyCredentials
from rmmbridge.connectors.errors import ConnectorConfigError


def test_only_the_key_is_required_and_the_url_defaults_to_the_public_api() -> None:
    spec = AddigyCredentials.parse({"client_secret": " 0123abcd "})
    assert isinstance(spec, AddigyCredentials)
    assert spec.api_url == "https://api.addigy.com"
    assert spec.client_id == ""
    assert spec.client_secret.get_secret_value() == "0123abcd"
    assert AddigyCredentials.secret_keys() == ("client_secret",)
    assert "0123abcd" not in repr(spec)


@pytest.mark.parametrize(("given", "stored"), [
    ("https://api.addigy.com/api/v2/", "https://api.addigy.com"),
    ("https://prod.addigy.com/api", "https://prod.addigy.com"),
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("http://localhost:9000/api/v2", "http://localhost:9000"),
])
def test_accepted_urls(given: str, stored: str) -> None:
    spec = AddigyCredentials.parse({"client_secret": "k", "api_url": given})
    assert spec.api_url == stored  # type: ignore[attr-defined]


@pytest.mark.parametrize(("given", "says"), [
    ("http://api.addigy.com", "must use https"),
    ("https://addigy.example.com", "not an Addigy API host"),
    ("api.addigy.com", "must start with https://"),
    ("https://api.addigy.com/devices", "without a path"),
    ("https://api.addigy.com?key=1", "without query"),
    ("", "enter the Addigy API URL"),
])
def test_rejected_urls_say_what_to_enter(given: str, says: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        AddigyCredentials.parse({"client_secret": "k", "api_url": given})
    assert info.value.message.startswith("Invalid credentials – API URL:")
    assert says in info.value.message


def test_a_blank_or_broken_key_says_where_to_get_it() -> None:
    with pytest.raises(ConnectorConfigError, match=r"Client Secret: .*New API Token"):
        AddigyCredentials.parse({"client_secret": "   "})
    with pytest.raises(ConnectorConfigError, match=r"Client Secret: .*spaces or line breaks"):
        AddigyCredentials.parse({"client_secret": "abc def"})
    with pytest.raises(ConnectorConfigError, match="Client Secret"):
        AddigyCredentials.parse({"client_id": "x"})
    with pytest.raises(ConnectorConfigError, match="api_key"):
        AddigyCredentials.parse({"client_secret": "k", "api_key": "unexpected"})
