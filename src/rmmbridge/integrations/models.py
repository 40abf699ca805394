"""Integration models: a configured RMM connection and the external references it owns."""

from __future__ import annotations

from django.db import models


class Integration(models.Model):
    """One configured connection to an RMM vendor (one tenant/account)."""

    vendor = models.CharField(max_length=50, help_text="Connector slug, e.g. datto_rmm.")
    name = models.CharField(max_length=200, unique=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


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
