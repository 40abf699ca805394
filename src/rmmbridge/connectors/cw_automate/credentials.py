"""ConnectWise Automate credentials: server URL, Integrator username and password, and the registered Client ID."""

from __future__ import annotations

from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec

EXAMPLE = "https://automate.example.com (on-premises) or https://yourname.hostedrmm.com (cloud)"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
#: Paths people paste from the browser or from API docs; the connector adds /cwa/api/v1 itself.
STRIPPED_SUFFIXES = ("/cwa/api/v1", "/cwa/api", "/cwa", "/automate")


def normalize_server_url(value: str) -> str:
    """The server root (https://host[:port]) or ValueError saying what to enter.

    A bare host name gets https://; a pasted `/cwa/api/v1` or `/automate` path is dropped. Plain http is accepted
    only for loopback (the emulator).
    """
    raw = (value or "").strip()
    if not raw:
        raise ValueError(f"enter your Automate server URL, e.g. {EXAMPLE}")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    host = (parts.hostname or "").lower()
    if not host or " " in raw:
        raise ValueError(f"is not a server address, e.g. {EXAMPLE}; got {value!r}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"has an invalid port; got {value!r}") from None
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"must be just the server address, without '?', '#' or user info; got {value!r}")
    path = parts.path.rstrip("/")
    for suffix in STRIPPED_SUFFIXES:
        if path.lower().endswith(suffix):
            path = path[: -len(suffix)]
            break
    if path:
        raise ValueError(f"must be the server root without a path (we add /cwa/api/v1), e.g. {EXAMPLE}; got {value!r}")
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"must start with https://, e.g. {EXAMPLE}; got {value!r}")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise ValueError(f"must use https (Automate only accepts API logins over TLS), e.g. {EXAMPLE}; got {value!r}")
    shown = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{shown}" + (f":{port}" if port is not None else "")


class CwAutomateCredentials(CredentialSpec):
    """An Automate Integrator user (no MFA prompt) plus the ClientId registered with ConnectWise."""

    server_url: str = Field(title="Server URL", description=f"Your Automate server, e.g. {EXAMPLE}")
    username: str = Field(
        title="Username", min_length=1, description="An Integrator user (System > Users and Contacts > Users)"
    )
    password: SecretStr = Field(title="Password", description="The Integrator user's password")
    client_id: str = Field(
        title="Client ID",
        min_length=1,
        description="The integration's ClientId from developer.connectwise.com/ClientID (sent as the ClientId header)",
    )

    server_time_zone: str = Field(
        default="UTC", title="Server time zone",
        description="The time zone your Automate server writes its times in (e.g. Europe/London, "
                    "America/New_York). Automate's API sends times without an offset; default UTC.",
    )

    @field_validator("server_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        name = (value or "").strip() or "UTC"
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            close = sorted(z for z in available_timezones() if z.lower().endswith(name.lower().split("/")[-1]))[:3]
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ValueError(
                f"is not a time zone name; enter an IANA name such as Europe/London or America/Chicago{hint}; "
                f"got {value!r}"
            ) from None
        return name

    def time_zone(self) -> ZoneInfo:
        """The server's time zone, for offset-less timestamps."""
        return ZoneInfo(self.server_time_zone)

    @field_validator("server_url")
    @classmethod
    def _server_url(cls, value: str) -> str:
        return normalize_server_url(value)

    @field_validator("password")
    @classmethod
    def _password_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("enter the Integrator user's password")
        return value

    @field_validator("client_id")
    @classmethod
    def _client_id_plain(cls, value: str) -> str:
        if any(ch.isspace() for ch in value) or len(value) > 100:
            raise ValueError(
                "enter the ClientId exactly as developer.connectwise.com shows it (a GUID like "
                f"1a2b3c4d-…), without spaces; got {value[:40]!r}"
            )
        return value
