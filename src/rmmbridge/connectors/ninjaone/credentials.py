"""NinjaOne credentials: instance URL, client ID and client secret of an API Services (machine-to-machine) app."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.ninjaone.const import INSTANCE_DOMAINS, INSTANCE_HOSTS, LOOPBACK_HOSTS


def normalize_instance_url(value: str) -> str:
    """Return the instance root (scheme://host[:port]) or raise ValueError saying what a valid URL looks like."""
    raw = value.strip()
    example = f"https://{INSTANCE_HOSTS[0]} (or {', '.join('https://' + h for h in INSTANCE_HOSTS[1:3])} …)"
    if not raw:
        raise ValueError(f"enter your NinjaOne instance URL, e.g. {example}")
    if "://" not in raw:
        raise ValueError(f"must start with https://, e.g. {example}; got {raw!r}")
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValueError(f"has no host name, e.g. {example}; got {raw!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port; got {raw!r}") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just the instance address, without query, fragment or user info; got {raw!r}")
    if parts.path not in ("", "/"):
        raise ValueError(f"must be the instance root without a path, e.g. {example}; got {raw!r}")
    netloc = host if port is None else f"{host}:{port}"
    if host in LOOPBACK_HOSTS or host.strip("[]") in LOOPBACK_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must use http or https; got {raw!r}")
        if ":" in host:
            netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
        return f"{parts.scheme}://{netloc}"
    if parts.scheme != "https":
        raise ValueError(f"must use https, e.g. {example}; got {raw!r}")
    if not any(host == d or host.endswith("." + d) for d in INSTANCE_DOMAINS):
        raise ValueError(f"is not a NinjaOne instance (a host under ninjarmm.com), e.g. {example}; got {raw!r}")
    return f"https://{netloc}"


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
