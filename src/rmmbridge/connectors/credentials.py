"""Credential declarations: one pydantic model per vendor; SecretStr fields are secrets."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from rmmbridge.connectors.errors import ConnectorConfigError


class CredentialSpec(BaseModel):
    """Base of every vendor's credentials. Field titles are the labels on the setup screen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    #: fields that decide where the secrets are sent; None = every URL, host, tenant, region or domain field
    destination_fields: ClassVar[tuple[str, ...] | None] = None

    @classmethod
    def secret_keys(cls) -> tuple[str, ...]:
        """Names of the fields that hold secrets."""
        return tuple(name for name, f in cls.model_fields.items() if f.annotation is SecretStr)

    @classmethod
    def destination_keys(cls) -> tuple[str, ...]:
        """Names of the non-secret fields that decide where the secrets are sent (changing one needs them again)."""
        if cls.destination_fields is not None:
            return cls.destination_fields
        words = ("url", "host", "hostname", "tenant", "region", "domain", "server", "instance", "endpoint")
        return tuple(
            name for name in cls.model_fields
            if name not in cls.secret_keys() and any(name == w or name.endswith("_" + w) for w in words)
        )

    @classmethod
    def parse(cls, data: dict[str, Any]) -> CredentialSpec:
        """Validate raw credentials; raise ConnectorConfigError naming each field to fix."""
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = ".".join(str(p) for p in error["loc"]) or "credentials"
                title = cls.model_fields[name].title if name in cls.model_fields else None
                problems.append(f"{title or name}: {error['msg']}")
            raise ConnectorConfigError("Invalid credentials – " + "; ".join(problems)) from None

    def secret_values(self) -> list[str]:
        """The clear values of every secret field (for redaction)."""
        values = []
        for name in self.secret_keys():
            value = getattr(self, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        return values

    def to_storage(self) -> dict[str, Any]:
        """Plain dict with secrets in clear, to be encrypted before it is stored."""
        return {
            name: (value.get_secret_value() if isinstance(value, SecretStr) else value)
            for name, value in self.model_dump().items()
        }

