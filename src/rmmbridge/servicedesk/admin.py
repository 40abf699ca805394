"""Django admin for the service-desk core (reads freely; writes still validate through model forms)."""

from django.contrib import admin

from rmmbridge.servicedesk import models


@admin.register(models.TopLevel)
class TopLevelAdmin(admin.ModelAdmin):
    search_fields = ["name"]


class SiteInline(admin.TabularInline):
    model = models.Site
    extra = 0


@admin.register(models.Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "toplevel", "active"]
    list_filter = ["active", "toplevel"]
    search_fields = ["name"]
    inlines = [SiteInline]


@admin.register(models.Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "is_main", "active"]
    list_filter = ["is_main", "active"]
    search_fields = ["name", "customer__name"]
    list_select_related = ["customer"]


@admin.register(models.EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "customer", "site", "active"]
    search_fields = ["name", "email"]
    list_select_related = ["customer", "site"]


@admin.register(models.AssetGroup)
class AssetGroupAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(models.AssetType)
class AssetTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "group"]
    search_fields = ["name"]


@admin.register(models.FieldDefinition)
class FieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["label", "name", "kind", "data_type"]
    list_filter = ["kind", "data_type"]
    filter_horizontal = ["asset_types"]


@admin.register(models.Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["name", "asset_tag", "asset_type", "customer", "site", "active"]
    list_filter = ["active", "asset_type"]
    search_fields = ["name", "asset_tag"]
    list_select_related = ["asset_type", "customer", "site"]
    raw_id_fields = ["site", "customer", "end_user", "parent"]


@admin.register(models.ServiceDeskSettings)
class ServiceDeskSettingsAdmin(admin.ModelAdmin):
    pass


@admin.register(models.AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "source", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["source", "action", "object_type"]
    search_fields = ["object_repr", "actor_label"]

    def has_change_permission(self, request, obj=None):
        return False
