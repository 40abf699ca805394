"""Django admin for integrations and external references."""

from django.contrib import admin

from rmmbridge.integrations import models


@admin.register(models.Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["name", "vendor", "enabled"]
    list_filter = ["vendor", "enabled"]


@admin.register(models.ExternalRef)
class ExternalRefAdmin(admin.ModelAdmin):
    list_display = ["integration", "kind", "external_id", "object_id", "last_seen", "missing_since"]
    list_filter = ["integration", "kind"]
    search_fields = ["external_id"]
