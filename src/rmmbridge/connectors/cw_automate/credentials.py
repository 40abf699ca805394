"""ConnectWise Automate credentials: server URL, Integrator username and password, and the registered Client ID."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import Field, SecretStr, field_validator

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.urls import UrlRule, normalize_url

EXAMPLE = "https://automate.example.com (on-premises) or https://yourname.hostedrmm.com (cloud)"
#: Paths people paste from the browser or from API docs; the connector adds /cwa/api/v1 itself.
URL_RULE = UrlRule(
    example=EXAMPLE,
    empty_hint=f"enter your Automate server URL, e.g. {EXAMPLE}",
    noun="an Automate server",
    address="server address",
    api_paths=("/cwa/api/v1", "/cwa/api", "/cwa", "/automate"),
    default_scheme="https",
    path_note="(we add /cwa/api/v1)",
    https_note="(Automate only accepts API logins over TLS)",
)


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
        return normalize_url(value, URL_RULE)

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
