"""Django admin for tickets (reading; changes go through the ticket pages and actions)."""

from __future__ import annotations

from django.contrib import admin

from rmmbridge.tickets import models


@admin.register(models.TicketType)
class TicketTypeAdmin(admin.ModelAdmin):
    list_display = ["name", "default_priority", "active"]
    search_fields = ["name"]


class TicketActionInline(admin.TabularInline):
    model = models.TicketAction
    extra = 0
    can_delete = False
    readonly_fields = ["at", "kind", "text", "old_status", "new_status", "actor", "actor_label", "source"]


@admin.register(models.Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["id", "summary", "status", "priority", "customer", "ticket_type", "source", "alert_key",
                    "assigned_to"]
    list_filter = ["status", "source", "ticket_type"]
    search_fields = ["summary", "alert_key"]
    list_select_related = ["customer", "ticket_type", "assigned_to"]
    raw_id_fields = ["customer", "site", "end_user", "assets", "assigned_to"]
    readonly_fields = ["status", "occurrences", "assigned_to", "created_at", "updated_at", "closed_at"]
    inlines = [TicketActionInline]
