"""Integration models: a configured RMM connection and the external references it owns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models import Q

from rmmbridge.common.secrets import default_box

if TYPE_CHECKING:
    from rmmbridge.connectors.base import Connector


class IntegrationStatus(models.TextChoices):
    """Health of an integration as the last test, sync or poll left it."""

    NEW = "new", "New"
    OK = "ok", "OK"
    FAILING = "failing", "Failing"
    NEEDS_REAUTH = "needs_reauth", "Needs re-authentication"
    DISABLED = "disabled", "Disabled"


class Integration(models.Model):
    """One configured connection to an RMM vendor (one tenant/account).

    Credentials are stored only encrypted (common.secrets.SecretBox); use get_credentials/set_credentials.
    """

    vendor = models.CharField(max_length=50, help_text="Connector slug, e.g. datto_rmm.")
    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    credentials_encrypted = models.TextField(blank=True, default="", editable=False,
                                             help_text="Fernet token of the JSON credentials; never shown.")
    status = models.CharField(max_length=20, choices=IntegrationStatus.choices, default=IntegrationStatus.NEW)
    last_error = models.TextField(blank=True, default="")
    last_tested_at = models.DateTimeField(null=True, blank=True)
    account_id = models.CharField(max_length=255, blank=True, default="",
                                  help_text="The RMM account (tenant) the credentials belong to.")
    account_name = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "account_id"], condition=~Q(account_id=""),
                                    name="integration_unique_vendor_account"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_credentials(self) -> dict[str, Any]:
        """The decrypted credentials ({} when none are stored)."""
        if not self.credentials_encrypted:
            return {}
        return default_box().decrypt_json(self.credentials_encrypted)

    def set_credentials(self, credentials: dict[str, Any]) -> None:
        """Encrypt and keep `credentials` (call save() to store them)."""
        self.credentials_encrypted = default_box().encrypt_json(dict(credentials))

    @property
    def connector_class(self) -> type[Connector]:
        """The registered connector class of this integration's vendor."""
        from rmmbridge.connectors import get_connector

        return get_connector(self.vendor)

    @property
    def vendor_name(self) -> str:
        """The vendor's display name, or its slug when the vendor is no longer registered."""
        from rmmbridge.connectors import REGISTRY

        cls = REGISTRY.get(self.vendor)
        return cls.name if cls is not None else self.vendor

    def secret_keys_set(self) -> dict[str, bool]:
        """For each secret credential key: whether a value is stored (never the value itself)."""
        stored = self.get_credentials()
        return {key: bool(stored.get(key)) for key in self.connector_class.credentials_model.secret_keys()}


class ConnectorState(models.Model):
    """What an integration's connector keeps between runs (Datto RMM: its audit cache), apart from the row that
    every page loads. Written by integrations.connect.connector_for when the connector reports a change."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="connector_state")
    data: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"connector state of {self.integration_id}"


class IntegrationModule(models.Model):
    """A vendor module on the Integrations page, enabled (+) or disabled (x) as a whole."""

    vendor = models.CharField(max_length=50, unique=True)
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["vendor"]

    def __str__(self) -> str:
        return self.vendor


class RequestLogEntry(models.Model):
    """One HTTP request an integration's connector made, already redacted by the connector layer."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="request_log")
    at = models.DateTimeField()
    method = models.CharField(max_length=10)
    url = models.TextField()
    status = models.IntegerField(null=True, blank=True)
    duration_ms = models.FloatField(default=0)
    request_body = models.TextField(blank=True, default="")
    response_body = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["integration", "-id"], name="requestlog_integration_newest")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} → {self.status}"


class RefKind(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    SITE = "site", "Site"
    END_USER = "end_user", "User"
    ASSET = "asset", "Asset"


class ExternalRef(models.Model):
    """Links a core object to its identity in one integration: (integration, kind, external id)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="refs")
    kind = models.CharField(max_length=20, choices=RefKind.choices)
    external_id = models.CharField(max_length=255)
    object_id = models.BigIntegerField(help_text="Primary key of the linked core object of this kind.")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Hash of the last imported record.")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    missing_since = models.DateTimeField(null=True, blank=True,
                                         help_text="First complete fetch that no longer contained it.")

    class Meta:
        ordering = ["integration", "kind", "external_id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "kind", "external_id"], name="externalref_unique"),
        ]
        indexes = [models.Index(fields=["kind", "object_id"])]

    def __str__(self) -> str:
        return f"{self.integration_id}:{self.kind}:{self.external_id}"
