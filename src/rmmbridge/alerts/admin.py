"""Admin for the alerts app (the raw bytes and encrypted passwords are never shown)."""

from __future__ import annotations

from django.contrib import admin

from rmmbridge.alerts.models import AlertEvent, AlertingConfig, AlertState, EmailRule, EventRule, Mailbox, ResolveOutbox
from rmmbridge.alerts.noise_models import MaintenanceWindow, NoiseSettings, StormGroup, Suppression


@admin.register(AlertingConfig)
class AlertingConfigAdmin(admin.ModelAdmin):
    list_display = ("integration", "enabled", "ticket_type", "new_alert_user", "from_address", "close_behaviour")


@admin.register(EmailRule)
class EmailRuleAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "integration", "from_match", "from_address", "subject_pattern", "action",
                    "enabled")
    list_display_links = ("name",)


@admin.register(EventRule)
class EventRuleAdmin(admin.ModelAdmin):
    list_display = ("order", "name", "integration", "vendor", "condition", "severities", "text_match", "outcome",
                    "enabled")
    list_display_links = ("name",)
    list_filter = ("outcome", "enabled")


@admin.register(AlertEvent)
class AlertEventAdmin(admin.ModelAdmin):
    list_display = ("id", "received_at", "channel", "integration", "summary", "status", "ticket")
    list_filter = ("status", "channel")
    exclude = ("raw",)
    readonly_fields = ("channel", "integration", "received_at", "headers", "message_id", "summary", "status",
                       "reason", "alert_key", "rule", "ticket", "processed_at", "event_rule", "suppressed",
                       "rule_view")


@admin.register(AlertState)
class AlertStateAdmin(admin.ModelAdmin):
    list_display = ("key", "integration", "ticket", "occurrences", "last_seen", "resolved_at", "closed_here")


@admin.register(ResolveOutbox)
class ResolveOutboxAdmin(admin.ModelAdmin):
    list_display = ("external_id", "integration", "ticket", "status", "attempts", "next_attempt_at", "last_error")
    list_filter = ("status",)


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("name", "host", "port", "user", "folder", "enabled", "last_polled_at", "last_error")


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ("name", "scope", "customer", "site", "asset", "timezone", "starts", "ends", "enabled")
    list_filter = ("scope", "enabled")


@admin.register(NoiseSettings)
class NoiseSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "flap_count", "flap_minutes", "quiet_minutes", "storm_count", "storm_minutes")


@admin.register(StormGroup)
class StormGroupAdmin(admin.ModelAdmin):
    list_display = ("condition", "site", "integration", "started_at", "ticket")


@admin.register(Suppression)
class SuppressionAdmin(admin.ModelAdmin):
    list_display = ("at", "alert_key", "reason", "window", "detail")
    list_filter = ("reason",)
