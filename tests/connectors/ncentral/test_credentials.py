"""N-central credentials: server URL (https, loopback for the emulator) and the User-API JWT, with clear errors."""

from __future__ import annotations

import pytest

from rmmbridge.connectors.errors import ConnectorConfigError
from rmmbridge.connectors.ncentral.credentials import NcentralCredentials

JWT = "eyJhbGciOiJIUzUxMiJ9.eyJzdWIiOiJhcGkifQ.c2lnbmF0dXJl"


def parse(**values: str) -> NcentralCredentials:
    spec = NcentralCredentials.parse({"server_url": "https://ncentral.example.com", "api_token": JWT, **values})
    assert isinstance(spec, NcentralCredentials)
    return spec


def test_valid_credentials_keep_the_token_secret() -> None:
    spec = parse()
    assert spec.server_url == "https://ncentral.example.com"
    assert spec.api_token.get_secret_value() == JWT
    assert JWT not in repr(spec)
    assert NcentralCredentials.secret_keys() == ("api_token",)
    assert spec.fetch_assets is False
    assert parse(fetch_assets="yes").fetch_assets is True


@pytest.mark.parametrize(
    ("entered", "stored"),
    [
        ("https://ncentral.example.com/", "https://ncentral.example.com"),
        ("https://ncentral.example.com/api", "https://ncentral.example.com"),
        ("https://NCentral.Example.com:8443", "https://ncentral.example.com:8443"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://localhost:9000/", "http://localhost:9000"),
    ],
)
def test_server_url_is_normalised(entered: str, stored: str) -> None:
    assert parse(server_url=entered).server_url == stored


@pytest.mark.parametrize(
    ("entered", "says"),
    [
        ("ncentral.example.com", "must start with https://"),
        ("http://ncentral.example.com", "must use https"),
        ("https://ncentral.example.com/dms/login", "without a path"),
        ("https://ncentral.example.com?x=1", "without query"),
        ("", "enter the address of your N-central server"),
    ],
)
def test_bad_server_url_says_what_to_enter(entered: str, says: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        parse(server_url=entered)
    assert "N-central server URL" in info.value.message
    assert says in info.value.message


def test_token_pasted_with_bearer_prefix_is_accepted() -> None:
    assert parse(api_token=f"Bearer {JWT}").api_token.get_secret_value() == JWT


@pytest.mark.parametrize("token", ["", "not-a-jwt", "abc.def", "a b.c.d", "a..c"])
def test_bad_token_says_what_to_paste(token: str) -> None:
    with pytest.raises(ConnectorConfigError) as info:
        parse(api_token=token)
    message = info.value.message
    assert "User-API Token (JWT)" in message
    assert "User-API token" in message
    if token:
        assert token not in message.replace("User-API", "")


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ConnectorConfigError) as info:
        NcentralCredentials.parse({"server_url": "https://n.example.com", "api_token": JWT, "username": "x"})
    assert "username" in info.value.message
