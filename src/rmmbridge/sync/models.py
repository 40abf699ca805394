"""Sync configuration per integration (settings, mapping tables) and the record of every sync run."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import AssetGroup, AssetType, Customer, Site, TopLevel
from rmmbridge.sync.plan import DEFAULT_JUNK_VALUES, FieldPolicy, MissingAction, NewCustomerMode


def default_junk() -> list[str]:
    return list(DEFAULT_JUNK_VALUES)


def default_match_rules() -> list[dict[str, Any]]:
    return [
        {"field": "serial_number", "within_customer": False},
        {"field": "mac_addresses", "within_customer": False},
        {"field": "name", "within_customer": True},
    ]


class SyncConfig(models.Model):
    """The sync settings of one integration (the mapping tables are separate models)."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="sync_config")
    new_customer_mode = models.CharField(
        max_length=20, default=NewCustomerMode.CREATE.value,
        choices=[(NewCustomerMode.CREATE.value, "Create a customer (Datto RMM: each site becomes a customer)"),
                 (NewCustomerMode.ONE_CUSTOMER.value, "Put every site under one customer (Datto RMM)"),
                 (NewCustomerMode.REVIEW.value, "Leave unmapped and list for review")],
        help_text="What happens to an RMM customer that no mapping row or name matches.")
    toplevel = models.ForeignKey(TopLevel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="Top level for new customers.")
    one_customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="The customer every site goes under (mode 'one customer').")
    match_users = models.BooleanField(default=True, help_text="Match users by e-mail, then by name in the customer.")
    link_device_users = models.BooleanField(default=True, help_text="Link devices to a user of their customer.")
    user_source = models.CharField(max_length=255, default="last_logged_in_user", blank=True,
                                   help_text="RMM field holding the device's user (e-mail, name or DOMAIN\\login).")
    import_types = models.JSONField(default=list, blank=True, help_text="Device types to import; empty = all.")
    type_field = models.CharField(
        max_length=255, blank=True, verbose_name="Asset type from field",
        help_text="An RMM field whose value chooses the asset type (e.g. facts.device_model_name, Addigy's "
                  "Hardware Model); the asset type mappings then map its values. Empty = by device type.")
    default_group = models.ForeignKey(AssetGroup, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="Default group for new asset types.")
    match_rules = models.JSONField(default=default_match_rules, blank=True,
                                   help_text="Ordered asset matching fields: [{field, within_customer}].")
    junk_values = models.JSONField(default=default_junk, blank=True, help_text="Values that never match.")
    default_site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                     help_text="Site for assets whose customer is not mapped.")
    child_assets = models.BooleanField(default=True, help_text="Link child devices to their parent asset.")
    missing_action = models.CharField(
        max_length=20, default=MissingAction.DEACTIVATE.value,
        choices=[(MissingAction.DEACTIVATE.value, "Deactivate"), (MissingAction.UNLINK.value, "Only unlink"),
                 (MissingAction.DEACTIVATE_AND_UNLINK.value, "Deactivate and unlink"),
                 (MissingAction.NOTHING.value, "Do nothing")])
    grace_hours = models.PositiveIntegerField(default=0, help_text="Wait this long before acting on a missing device.")
    guard_percent = models.PositiveIntegerField(default=20, help_text="Ask before deactivating more than this share.")
    allow_customer_moves = models.BooleanField(
        default=False, help_text="A device may match an asset of another customer and move it (shown as a move in "
        "the preview); otherwise such a match is a conflict listed for review.")
    source_priority = models.PositiveIntegerField(
        default=100, help_text="When several integrations link one asset, the one that created it owns its fields, "
        "then the others by this number (lower first); a lower-priority integration fills only empty fields.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Sync settings of {self.integration}"


class MappingKind(models.TextChoices):
    """What an RMM id in a mapping row names: ids of customers and sites are separate spaces (Automate: 4 and 4)."""

    CUSTOMER = "customer", "RMM customer"
    SITE = "site", "RMM site"


class CustomerMapping(models.Model):
    """An RMM customer or site (typed: its kind and id) mapped to a local customer (and optionally a site)."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="customer_mappings")
    kind = models.CharField(max_length=20, choices=MappingKind.choices, default=MappingKind.CUSTOMER,
                            help_text="Whether the RMM id is a customer's or a site's (they may be equal numbers).")
    external_id = models.CharField(max_length=255)
    external_name = models.CharField(max_length=255, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["external_name", "kind", "external_id"]
        constraints = [models.UniqueConstraint(fields=["integration", "kind", "external_id"],
                                               name="customermapping_kind_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_name or self.external_id} → {self.customer}"


class AssetTypeMapping(models.Model):
    """An RMM device type mapped to a local asset type, or ignored."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="type_mappings")
    device_type = models.CharField(max_length=100)
    asset_type = models.ForeignKey(AssetType, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    ignore = models.BooleanField(default=False)

    class Meta:
        ordering = ["device_type"]
        constraints = [models.UniqueConstraint(fields=["integration", "device_type"], name="typemapping_unique")]

    def __str__(self) -> str:
        return f"{self.device_type} → {'ignore' if self.ignore else self.asset_type}"


class FieldMapping(models.Model):
    """An RMM field path mapped to an asset field key (`name` or `CF<name>`) with a write policy."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="field_mappings")
    source = models.CharField(max_length=255, help_text="RMM field path, e.g. serial_number or udf.udf1.")
    target = models.CharField(max_length=120, help_text="Asset field key, e.g. serial_number or CFwarranty.")
    policy = models.CharField(
        max_length=30, default=FieldPolicy.ALWAYS.value,
        choices=[(FieldPolicy.ALWAYS.value, "Always overwrite"),
                 (FieldPolicy.ONLY_EMPTY.value, "Only for new assets or when empty"),
                 (FieldPolicy.NOT_AFTER_LOCAL_EDIT.value, "Never after a local edit")])
    device_type = models.CharField(max_length=100, blank=True, help_text="Only for this device type; blank = all.")
    create_if_missing = models.BooleanField(default=False, help_text="Create the field at the next import.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.source} → {self.target}"


class SyncTrigger(models.TextChoices):
    UI = "ui", "UI"
    CLI = "cli", "CLI"
    SCHEDULE = "schedule", "Schedule"


class SyncStatus(models.TextChoices):
    RUNNING = "running", "Running"
    PLANNED = "planned", "Planned (dry run)"
    SUCCESS = "success", "Success"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"
    NEEDS_CONFIRMATION = "needs_confirmation", "Needs confirmation"


class SyncRun(models.Model):
    """One sync (or dry run): who started it, when, what it did, and its stored plan rows."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="sync_runs")
    trigger = models.CharField(max_length=20, choices=SyncTrigger.choices, default=SyncTrigger.CLI)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    entities = models.JSONField(default=list)
    dry_run = models.BooleanField(default=False)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=30, choices=SyncStatus.choices, default=SyncStatus.RUNNING)
    counts = models.JSONField(default=dict, blank=True, help_text="{entity: {created, updated, …}}")
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Sync #{self.pk} of {self.integration} ({self.status})"

    @property
    def duration_s(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class RowStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"


class SyncPlanRow(models.Model):
    """One planned operation of a run, kept for the preview and the run's detail."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    entity = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)
    external_id = models.CharField(max_length=255)
    label = models.CharField(max_length=255, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    op = models.JSONField(default=dict)
    status = models.CharField(max_length=20, choices=RowStatus.choices, default=RowStatus.PLANNED)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        indexes = [models.Index(fields=["run", "entity", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.entity} {self.label}"


class LinkVeto(models.Model):
    """A person unlinked this RMM device from this asset: matching never links the two again."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="link_vetoes")
    external_id = models.CharField(max_length=255)
    asset_id = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    actor_label = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["integration", "external_id", "asset_id"],
                                               name="linkveto_unique")]

    def __str__(self) -> str:
        return f"{self.integration_id}:{self.external_id} never → asset {self.asset_id}"


class RemoteCatalog(models.Model):
    """The RMM's customers, sites, device types and fields as last fetched, for the mapping dialogs' lists."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="remote_catalog")
    fetched_at = models.DateTimeField(null=True, blank=True)
    entries = models.JSONField(default=list, blank=True,
                               help_text="[{id, name, kind: customer|site, customer_id, customer_name}]")
    device_types = models.JSONField(default=list, blank=True, help_text="[[value, label]] the vendor reports.")
    fields = models.JSONField(default=dict, blank=True, help_text="{device type or '': [[path, label]]}")
    error = models.TextField(blank=True, default="", help_text="Why the last refresh failed ('' when it worked).")

    def __str__(self) -> str:
        return f"RMM lists of {self.integration}"
