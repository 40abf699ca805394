"""Atera credentials: the application URL and the API key from Admin > API (a legacy key or a JWT token)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.atera.const import ATERA_DOMAIN, DEFAULT_API_URL, LOOPBACK_HOSTS
from rmmbridge.connectors.credentials import CredentialSpec


def normalize_api_url(value: str) -> str:
    """The Atera application URL as scheme://host[:port], or ValueError saying what to enter.

    Accepts `https://app.atera.com`, with a trailing `/` or `/api/v3` (both removed); loopback URLs (http or https)
    are accepted for the emulator.
    """
    raw = (value or "").strip()
    example = DEFAULT_API_URL
    if not raw:
        raise ValueError(f"enter the Atera application URL, usually {example}")
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
        raise ValueError(f"must be just the application address, without query, fragment or user info; got {raw!r}")
    path = parts.path.rstrip("/")
    if path.lower() in ("/api/v3", "/api"):
        path = ""
    if path:
        raise ValueError(f"must be the application address without a path, e.g. {example}; got {raw!r}")
    netloc_host = f"[{host}]" if ":" in host else host
    netloc = netloc_host if port is None else f"{netloc_host}:{port}"
    if host in LOOPBACK_HOSTS:
        if parts.scheme not in ("http", "https"):
            raise ValueError(f"must use http or https; got {raw!r}")
        return f"{parts.scheme}://{netloc}"
    if parts.scheme != "https":
        raise ValueError(f"must use https, e.g. {example}; got {raw!r}")
    if host != ATERA_DOMAIN and not host.endswith("." + ATERA_DOMAIN):
        raise ValueError(f"is not an Atera address (a host under {ATERA_DOMAIN}), e.g. {example}; got {raw!r}")
    return f"https://{netloc}"


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
