"""NinjaOne credentials: instance URL, client ID and client secret of an API Services (machine-to-machine) app."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.ninjaone.const import INSTANCE_DOMAINS, INSTANCE_HOSTS
from rmmbridge.connectors.urls import UrlRule, normalize_url

_EXAMPLE = f"https://{INSTANCE_HOSTS[0]} (or {', '.join('https://' + h for h in INSTANCE_HOSTS[1:3])} …)"
URL_RULE = UrlRule(
    example=_EXAMPLE,
    empty_hint=f"enter your NinjaOne instance URL, e.g. {_EXAMPLE}",
    noun="a NinjaOne instance",
    address="instance address",
    domains=INSTANCE_DOMAINS,
)


def normalize_instance_url(value: str) -> str:
    """Return the instance root (scheme://host[:port]) or raise ValueError saying what a valid URL looks like."""
    return normalize_url(value, URL_RULE)


class NinjaOneCredentials(CredentialSpec):
    """Credentials of a NinjaOne API client using the client-credentials grant."""

    instance_url: str = Field(
        title="Instance URL",
        description="Your NinjaOne instance, e.g. https://app.ninjarmm.com, https://eu.ninjarmm.com, https://oc.ninjarmm.com",
    )
    client_id: str = Field(title="Client ID", min_length=1, description="Administration > Apps > API > Client ID")
    client_secret: SecretStr = Field(title="Client Secret", description="Shown once when the API client is created")

    @field_validator("instance_url")
    @classmethod
    def _instance_url(cls, value: str) -> str:
        return normalize_instance_url(value)

    @field_validator("client_secret")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("enter the client secret NinjaOne showed when the API client was created")
        return value
