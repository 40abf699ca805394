"""Datto RMM credentials, with the keys and labels of Halo's setup screen: API URL, API key, API secret key."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.datto_rmm.const import EXAMPLE_URL
from rmmbridge.connectors.urls import UrlRule, normalize_url

#: Any https host (platforms are `<platform>-api.centrastage.net`; tests and proxies use others); `/api/v2` and
#: `/api`, as copied from Datto's API page, are dropped.
URL_RULE = UrlRule(
    example=EXAMPLE_URL,
    empty_hint=f"enter the full API URL starting with https://, e.g. {EXAMPLE_URL}",
    noun="a Datto RMM API URL",
    address="API URL",
    api_paths=("/api/v2", "/api"),
)


class DattoRmmCredentials(CredentialSpec):
    """API URL of the platform (e.g. https://pinotage-api.centrastage.net) and the user's API key pair."""

    api_url: str = Field(title="API URL", description=f"Your platform's API URL, e.g. {EXAMPLE_URL}")
    api_key: SecretStr = Field(title="API Key", description="Setup > Users > (user) > Generate API Keys")
    api_secret: SecretStr = Field(title="API Secret Key", description="Shown once when the API keys are generated")
    fetch_audits: bool = Field(
        default=True,
        title="Fetch audits (serial number, make, model, MAC addresses)",
        description="One audit request per new device or changed audit (the first sync of 10,000 devices takes "
        "about 17 minutes at Datto's 600 requests per minute; later syncs only audit what changed).",
    )

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return normalize_url(value, URL_RULE)

    @field_validator("api_key", "api_secret")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty; copy it from Datto RMM (Setup > Users > Generate API Keys)")
        return value
