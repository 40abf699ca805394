"""Atera credentials: the application URL and the API key from Admin > API (a legacy key or a JWT token)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.atera.const import ATERA_DOMAIN, DEFAULT_API_URL
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.urls import UrlRule, normalize_url

URL_RULE = UrlRule(
    example=DEFAULT_API_URL,
    empty_hint=f"enter the Atera application URL, usually {DEFAULT_API_URL}",
    noun="an Atera address",
    address="application address",
    domains=(ATERA_DOMAIN,),
    api_paths=("/api/v3", "/api"),
)


def normalize_api_url(value: str) -> str:
    """The Atera application URL as scheme://host[:port], or ValueError saying what to enter.

    Accepts `https://app.atera.com`, with a trailing `/` or `/api/v3` (both removed); loopback URLs (http or https)
    are accepted for the emulator.
    """
    return normalize_url(value, URL_RULE)


class AteraCredentials(CredentialSpec):
    """What Halo's Atera setup screen asks for: the application URL and an API key."""

    api_url: str = Field(
        default=DEFAULT_API_URL,
        title="Application URL",
        description="The URL you log in to Atera with, usually https://app.atera.com",
    )
    api_key: SecretStr = Field(
        title="API Key",
        description="Atera > Admin > API: generate and copy the API key (a legacy key or the newer JWT token)",
    )

    @field_validator("api_url", mode="before")
    @classmethod
    def _api_url(cls, value: object) -> str:
        if value is None:
            return DEFAULT_API_URL
        return normalize_api_url(str(value))

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value().strip()
        if not key:
            raise ValueError("enter the API key from Atera > Admin > API")
        if key.lower().startswith("bearer "):
            raise ValueError("paste the key or token alone, without the 'Bearer ' prefix")
        if any(ch.isspace() for ch in key):
            raise ValueError("the API key contains spaces or line breaks; copy it again from Atera > Admin > API")
        return SecretStr(key)
