"""Noise-control models: maintenance windows, noise settings, per-alert flap/storm state, storms and suppressions."""

from __future__ import annotations

from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import models

from rmmbridge.alerts.noise import NoisePolicy
from rmmbridge.alerts.windows import Target, Window, WindowError, WindowScope, validate
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import Asset, Customer, Site
from rmmbridge.tickets.models import Ticket

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


class MaintenanceWindow(models.Model):
    """A time when alerts of a customer, site or asset are recorded but open no ticket."""

    name = models.CharField(max_length=200)
    scope = models.CharField(max_length=10, choices=[(s.value, s.value.title()) for s in WindowScope])
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    timezone = models.CharField(max_length=64, default="UTC", help_text="IANA name, e.g. Europe/London.")
    starts = models.DateTimeField(null=True, blank=True, help_text="One-off window: start.")
    ends = models.DateTimeField(null=True, blank=True, help_text="One-off window: end.")
    weekdays = models.JSONField(default=list, blank=True, help_text="Weekly window: days, 0 = Monday … 6 = Sunday.")
    start_time = models.TimeField(null=True, blank=True, help_text="Weekly window: local start time.")
    end_time = models.TimeField(null=True, blank=True,
                                help_text="Weekly window: local end time (earlier than the start = next day).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def target_id(self) -> str:
        obj = {WindowScope.CUSTOMER.value: self.customer_id, WindowScope.SITE.value: self.site_id,
               WindowScope.ASSET.value: self.asset_id}.get(self.scope)
        return str(obj) if obj else ""

    def as_window(self) -> Window:
        return Window(self.name, WindowScope(self.scope), self.target_id(), self.timezone or "UTC",
                      starts=self.starts, ends=self.ends, weekdays=frozenset(int(d) for d in self.weekdays or []),
                      start_time=self.start_time, end_time=self.end_time)

    def clean(self) -> None:
        if self.scope not in {s.value for s in WindowScope}:
            raise ValidationError({"scope": "Choose customer, site or asset."})
        try:
            validate(self.as_window())
        except WindowError as exc:
            raise ValidationError(str(exc)) from exc

    def describe(self) -> str:
        if self.weekdays:
            days = ", ".join(WEEKDAYS[int(d)] for d in sorted(self.weekdays))
            return f"weekly {days} {self.start_time:%H:%M}–{self.end_time:%H:%M} {self.timezone}"
        return f"{self.starts:%Y-%m-%d %H:%M} – {self.ends:%Y-%m-%d %H:%M} UTC"


def active_windows() -> list[Window]:
    return [w.as_window() for w in MaintenanceWindow.objects.filter(enabled=True)]


def target_of(asset: Asset | None, customer_id: int | None = None) -> Target:
    if asset is None:
        return Target(customer=str(customer_id or ""))
    return Target(customer=str(asset.customer_id or customer_id or ""), site=str(asset.site_id or ""),
                  asset=str(asset.pk))


class NoiseSettings(models.Model):
    """Flap and storm thresholds: the row without integration is the default, one per integration overrides it."""

    integration = models.OneToOneField(Integration, null=True, blank=True, on_delete=models.CASCADE,
                                       related_name="noise_settings")
    flap_count = models.PositiveIntegerField(default=3, help_text="Flapping: more than this many opens …")
    flap_minutes = models.PositiveIntegerField(default=60, help_text="… within this many minutes.")
    quiet_minutes = models.PositiveIntegerField(
        default=30, help_text="A flapping ticket closes after the condition stayed resolved this long.")
    storm_count = models.PositiveIntegerField(default=10, help_text="Storm: more than this many devices …")
    storm_minutes = models.PositiveIntegerField(default=5, help_text="… with the same condition on one site "
                                                                     "within this many minutes.")

    class Meta:
        verbose_name_plural = "noise settings"

    def __str__(self) -> str:
        return f"Noise settings ({self.integration or 'default'})"

    def policy(self) -> NoisePolicy:
        return NoisePolicy(self.flap_count, self.flap_minutes, self.quiet_minutes, self.storm_count,
                           self.storm_minutes)

    def clean(self) -> None:
        problems = self.policy().problems()
        if problems:
            raise ValidationError(" ".join(problems))


def policy_for(integration: Integration | None) -> NoisePolicy:
    row = (NoiseSettings.objects.filter(integration=integration).first() if integration is not None else None) \
        or NoiseSettings.objects.filter(integration__isnull=True).first()
    return row.policy() if row is not None else NoisePolicy()


class StormGroup(models.Model):
    """One storm: a parent ticket for many devices with the same condition on one site."""

    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    site = models.ForeignKey(Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    condition = models.CharField(max_length=255)
    started_at = models.DateTimeField()
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Storm {self.condition} at {self.site} ({self.started_at:%Y-%m-%d %H:%M})"


class AlertNoise(models.Model):
    """Noise state of one alert (beside AlertState): recent opens, flapping mark, storm membership, window hold."""

    state = models.OneToOneField("alerts.AlertState", on_delete=models.CASCADE, related_name="noise")
    opens = models.JSONField(default=list, blank=True, help_text="ISO times of the recent opens.")
    flapping = models.BooleanField(default=False)
    storm = models.ForeignKey(StormGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    held_by = models.ForeignKey(MaintenanceWindow, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", help_text="Raised in this window; opens its ticket at the end.")
    held_until = models.DateTimeField(null=True, blank=True, db_index=True)
    held_ticket = models.JSONField(default=dict, blank=True,
                                   help_text="The ticket to open at the window's end (summary, details, target ids).")

    def __str__(self) -> str:
        return f"Noise of {self.state_id}"

    def open_times(self) -> list[datetime]:
        return [datetime.fromisoformat(t).astimezone(UTC) for t in self.opens]


class Suppression(models.Model):
    """An event that opened no ticket because of a noise control, with the reason (metrics count these)."""

    event = models.ForeignKey("alerts.AlertEvent", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="+")
    alert_key = models.CharField(max_length=255)
    reason = models.CharField(max_length=20, db_index=True)
    detail = models.TextField(blank=True)
    window = models.ForeignKey(MaintenanceWindow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.alert_key}: {self.reason}"


class FlapTrack(models.Model):
    """Opens of one condition on one device (across RMM alert ids): its one ticket while it flaps."""

    flap_key = models.CharField(max_length=255, unique=True, help_text="Scope, device and condition.")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    opens = models.JSONField(default=list, blank=True, help_text="ISO times of the opens within the flap window.")
    flapping = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.flap_key}{' (flapping)' if self.flapping else ''}"

    def open_times(self) -> list[datetime]:
        return [datetime.fromisoformat(t).astimezone(UTC) for t in self.opens]


class StormMember(models.Model):
    """One alert opened on a site for a condition (storm detection counts these; `storm` once grouped)."""

    state = models.OneToOneField("alerts.AlertState", on_delete=models.CASCADE, related_name="storm_member")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")
    condition = models.CharField(max_length=255)
    device = models.CharField(max_length=255)
    opened_at = models.DateTimeField(db_index=True)
    own_ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    storm = models.ForeignKey(StormGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")

    def __str__(self) -> str:
        return f"{self.device} {self.condition}"
