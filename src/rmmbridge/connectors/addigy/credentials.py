"""Addigy credentials with the keys of Halo's setup screen: Client ID, Client Secret (the API v2 key), API URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.addigy.const import DEFAULT_API_URL
from rmmbridge.connectors.credentials import CredentialSpec

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ADDIGY_DOMAIN = "addigy.com"


def normalize_api_url(value: str) -> str:
    """The API root (scheme://host[:port]) or ValueError saying what to enter; a trailing /api/v2 is dropped."""
    raw = (value or "").strip()
    example = DEFAULT_API_URL
    if not raw:
        raise ValueError(f"enter the Addigy API URL, e.g. {example}")
    if "://" not in raw:
        raise ValueError(f"must start with https://, e.g. {example}; got {raw!r}")
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port; got {raw!r}") from None
    if not host:
        raise ValueError(f"has no host name, e.g. {example}; got {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just the API address, without query, fragment or user info; got {raw!r}")
    path = parts.path.rstrip("/")
    for suffix in ("/api/v2", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    if path:
        raise ValueError(f"must be the API root without a path, e.g. {example}; got {raw!r}")
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    if host in LOOPBACK_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must use http or https; got {raw!r}")
        return f"{parts.scheme}://{netloc}"
    if parts.scheme != "https":
        raise ValueError(f"must use https, e.g. {example}; got {raw!r}")
    if host != ADDIGY_DOMAIN and not host.endswith("." + ADDIGY_DOMAIN):
        raise ValueError(f"is not an Addigy API host (a host under {ADDIGY_DOMAIN}), e.g. {example}; got {raw!r}")
    return f"https://{netloc}"


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
        return normalize_api_url(value)

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
