"""Addigy credentials with the keys of Halo's setup screen: Client ID, Client Secret (the API v2 key), API URL."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.addigy.const import DEFAULT_API_URL
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.urls import UrlRule, normalize_url

ADDIGY_DOMAIN = "addigy.com"
URL_RULE = UrlRule(
    example=DEFAULT_API_URL,
    empty_hint=f"enter the Addigy API URL, e.g. {DEFAULT_API_URL}",
    noun="an Addigy API host",
    address="API address",
    domains=(ADDIGY_DOMAIN,),
    api_paths=("/api/v2", "/api"),
)


class AddigyCredentials(CredentialSpec):
    """An Addigy API v2 key. Halo's screen (written for API v1) names it Client ID + Client Secret.

    API v1 (client id + secret headers) was removed on 31 March 2026; v2 authenticates with one API key, which goes
    into Client Secret. Client ID is optional and never sent: keep the v1 client id or the key's name there.
    """

    client_id: str = Field(
        default="",
        title="Client ID",
        max_length=200,
        description="Optional with API v2: the name or id of the API token, for your reference (never sent)",
    )
    client_secret: SecretStr = Field(
        title="Client Secret",
        description="The API v2 key: Account > Integrations > API & Webhooks > V2 > New API Token (shown once)",
    )
    api_url: str = Field(default=DEFAULT_API_URL, title="API URL", description=f"Normally {DEFAULT_API_URL}")

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        return normalize_url(value, URL_RULE)

    @field_validator("client_secret")
    @classmethod
    def _secret(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if not text:
            raise ValueError(
                "enter the API v2 key from Addigy (Account > Integrations > API & Webhooks > V2 > New API Token)"
            )
        if any(c.isspace() for c in text):
            raise ValueError("the API key contains spaces or line breaks; paste the key exactly as Addigy showed it")
        return SecretStr(text)
