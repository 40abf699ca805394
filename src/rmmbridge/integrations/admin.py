"""Django admin for integrations, vendor modules, request logs and external references (never credentials)."""

from django.contrib import admin

from rmmbridge.integrations import models


@admin.register(models.Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "enabled", "status", "account_name", "last_tested_at"]
    list_filter = ["vendor", "enabled", "status"]
    exclude = ["credentials_encrypted"]
    readonly_fields = ["status", "last_error", "last_tested_at", "account_id", "account_name"]


@admin.register(models.IntegrationModule)
class IntegrationModuleAdmin(admin.ModelAdmin):
    list_display = ["vendor", "enabled", "updated_at"]


@admin.register(models.RequestLogEntry)
class RequestLogEntryAdmin(admin.ModelAdmin):
    list_display = ["integration", "at", "method", "url", "status", "duration_ms"]
    list_filter = ["integration"]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(models.ExternalRef)
class ExternalRefAdmin(admin.ModelAdmin):
    list_display = ["integration", "kind", "external_id", "object_id", "last_seen", "missing_since"]
    list_filter = ["integration", "kind"]
    search_fields = ["external_id"]
