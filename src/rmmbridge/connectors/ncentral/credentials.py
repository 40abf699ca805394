"""N-central credentials: the server URL and the User-API token (a JSON Web Token) of an API-only user."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.urls import UrlRule, normalize_url

EXAMPLE_URL = "https://ncentral.example.com"
#: Any https host (on-premises or N-able hosted); a trailing `/api` (as copied from the API Explorer) is dropped.
URL_RULE = UrlRule(
    example=EXAMPLE_URL,
    empty_hint=f"enter the address of your N-central server, e.g. {EXAMPLE_URL}",
    noun="an N-central server",
    address="server address",
    api_paths=("/api",),
)


def normalize_server_url(value: str) -> str:
    """The server root (scheme://host[:port]) or ValueError saying what a valid URL looks like (https, or
    http on loopback for the emulator)."""
    return normalize_url(value, URL_RULE)


class NcentralCredentials(CredentialSpec):
    """Credentials of an N-central API-only user (User-API token from Administration → User Management)."""

    server_url: str = Field(
        title="N-central server URL",
        description="The address of your N-central server (on-premises or N-able hosted), e.g. " + EXAMPLE_URL,
    )
    api_token: SecretStr = Field(
        title="User-API Token (JWT)",
        description="Administration → User Management → Users → API-only user → API Access → "
        "GENERATE JSON WEB TOKEN. Regenerating it invalidates the old one.",
    )

    fetch_assets: bool = Field(
        default=False,
        title="Fetch inventory (serial number, make, model, NICs)",
        description="Reads each device's assets: one extra request per device (5,000 devices = 5,000 requests).",
    )

    @field_validator("server_url")
    @classmethod
    def _server_url(cls, value: str) -> str:
        return normalize_server_url(value)

    @field_validator("api_token")
    @classmethod
    def _jwt(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value().strip()
        if not token:
            raise ValueError("paste the User-API token N-central showed after GENERATE JSON WEB TOKEN")
        if token.lower().startswith("bearer "):
            token = token[7:].strip()
        if any(ch.isspace() for ch in token) or token.count(".") != 2 or not all(token.split(".")):
            raise ValueError(
                "is not a JSON Web Token (three dot-separated parts, starting with 'eyJ'); copy the whole "
                "User-API token from the user's API Access tab"
            )
        return SecretStr(token)
