"""Service-desk core models, modelled on Halo: customers, sites, users, asset types, fields, assets, audit."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from rmmbridge.servicedesk.fieldtypes import DataType


class TopLevel(models.Model):
    """An optional grouping of customers (Halo's 'Top Level')."""

    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="toplevel_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class Customer(models.Model):
    """A customer (client) of the service desk. Every customer has exactly one main site."""

    name = models.CharField(max_length=200)
    toplevel = models.ForeignKey(TopLevel, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="customers")
    active = models.BooleanField(default=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="customer_name_unique_ci")]

    def __str__(self) -> str:
        return self.name

    @property
    def main_site(self) -> Site | None:
        return self.sites.filter(is_main=True).first()


class Site(models.Model):
    """A site (location) of a customer; exactly one site per customer is its main site."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(max_length=200)
    is_main = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    address = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["customer__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["customer"], condition=Q(is_main=True), name="site_one_main_per_customer"),
            models.UniqueConstraint("customer", Lower("name"), name="site_name_unique_per_customer_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.customer.name} / {self.name}" if self.customer_id else self.name


class EndUser(models.Model):
    """A person at a customer's site. E-mail, when present, is unique within the customer."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="users")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="users",
                                 help_text="Always the site's customer; kept by the actions.")
    name = models.CharField(max_length=200)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint("customer", Lower("email"), condition=~Q(email=""),
                                    name="enduser_email_unique_per_customer_ci"),
        ]

    def __str__(self) -> str:
        return self.name


class AssetGroup(models.Model):
    """A group of asset types (Halo's asset group)."""

    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="assetgroup_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class AssetType(models.Model):
    """A type of asset (workstation, server, printer…), in a group."""

    name = models.CharField(max_length=200)
    group = models.ForeignKey(AssetGroup, on_delete=models.PROTECT, related_name="asset_types")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="assettype_name_unique_ci")]

    def __str__(self) -> str:
        return self.name


class FieldKind(models.TextChoices):
    ASSET_FIELD = "asset_field", "Asset field"
    CUSTOM_FIELD = "custom_field", "Custom field"


class FieldDefinition(models.Model):
    """An asset field or custom field. Custom fields are addressed as CF<name>, e.g. CF3rdparty."""

    name = models.CharField(max_length=100, help_text="Identifier: letters, digits and underscores.")
    label = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=FieldKind.choices, default=FieldKind.ASSET_FIELD)
    data_type = models.CharField(max_length=20, choices=[(t.value, t.value) for t in DataType],
                                 default=DataType.TEXT.value)
    choices = models.JSONField(default=list, blank=True, help_text="Allowed values for a choice field.")
    asset_types = models.ManyToManyField(AssetType, blank=True, related_name="fields",
                                         help_text="Asset types that show this field.")

    class Meta:
        ordering = ["kind", "label"]
        constraints = [models.UniqueConstraint("kind", Lower("name"), name="fielddef_name_unique_per_kind_ci")]

    def __str__(self) -> str:
        return f"{self.label} ({self.key})"

    @property
    def key(self) -> str:
        """How values and mappings address this field: `name`, or `CF<name>` for a custom field."""
        return f"CF{self.name}" if self.kind == FieldKind.CUSTOM_FIELD else self.name


class Asset(models.Model):
    """A configuration item. Field values are stored typed in `values`, keyed by field key."""

    asset_tag = models.CharField(max_length=100, blank=True, db_index=True)
    name = models.CharField(max_length=255, blank=True, help_text="Display name, usually the hostname.")
    # asset_type, site and customer lead the (…, active) indexes below, which serve every lookup by them: no index
    # of their own (each index is written on every insert)
    asset_type = models.ForeignKey(AssetType, on_delete=models.PROTECT, related_name="assets", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="assets", db_index=False)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="assets", db_index=False,
                                 help_text="Always the site's customer; kept by the actions.")
    end_user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    active = models.BooleanField(default=True)
    values: models.JSONField[dict[str, Any]] = models.JSONField(default=dict, blank=True)
    locally_edited = models.JSONField(default=list, blank=True,
                                      help_text="Field keys a person edited here (sync may leave them alone).")
    provenance: models.JSONField[dict[str, Any]] = models.JSONField(
        default=dict, blank=True, help_text="Who wrote each field's value, in which run and when "
        "(servicedesk.provenance).")
    created_by_integration = models.PositiveIntegerField(
        null=True, blank=True, help_text="Id of the integration whose sync created this asset (it owns the fields "
        "first when several integrations link the asset).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["customer", "active"]),
            models.Index(fields=["site", "active"]),
            models.Index(fields=["asset_type", "active"]),
            models.Index(fields=["name"]),
        ]

    def __str__(self) -> str:
        return self.name or self.asset_tag or f"Asset {self.pk}"


class ServiceDeskSettings(models.Model):
    """Singleton of service-desk wide settings."""

    asset_tag_unique = models.BooleanField(default=True, help_text="Asset tag must be unique.")
    junk_values = models.JSONField(default=list, blank=True,
                                   help_text="Values that never identify a device (used by asset matching).")

    class Meta:
        verbose_name_plural = "service desk settings"

    def __str__(self) -> str:
        return "Service desk settings"

    @classmethod
    def load(cls) -> ServiceDeskSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class AuditSource(models.TextChoices):
    UI = "ui", "UI"
    CLI = "cli", "CLI"
    SYNC = "sync", "Sync"
    API = "api", "API"
    ALERT = "alert", "Alert"
    SYSTEM = "system", "System"


class AuditEntry(models.Model):
    """One recorded write: who, what object, old → new values, and from where."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=AuditSource.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=255, blank=True)
    action = models.CharField(max_length=30)
    changes = models.JSONField(default=dict, blank=True, help_text="{field: [old, new]}")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type} {self.object_repr}"
