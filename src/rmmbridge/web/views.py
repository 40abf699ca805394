"""Web shell views: the dashboard and the settings page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from rmmbridge.integrator.integration_health import integration_summary
from rmmbridge.servicedesk.actions import (
    Actor,
    do_create_asset_group,
    do_create_asset_type,
    do_create_field_definition,
    do_create_toplevel,
    do_show_field_on_asset_types,
    do_update_settings,
)
from rmmbridge.servicedesk.forms import (
    AssetGroupForm,
    AssetTypeForm,
    FieldDefinitionForm,
    ServiceDeskSettingsForm,
    ShowFieldForm,
    TopLevelForm,
)
from rmmbridge.servicedesk.models import (
    Asset,
    AssetGroup,
    AssetType,
    Customer,
    EndUser,
    FieldDefinition,
    ServiceDeskSettings,
    Site,
    TopLevel,
)
from rmmbridge.sync.plan import DEFAULT_JUNK_VALUES
from rmmbridge.web.dashboard import integration_cards, open_alert_tickets_by_customer


def dashboard(request: HttpRequest) -> HttpResponse:
    """Each integration's state and what needs the administrator now; open alert tickets by customer; counts."""
    counts = {
        "Customers": Customer.objects.count(),
        "Sites": Site.objects.count(),
        "Users": EndUser.objects.count(),
        "Assets": Asset.objects.filter(active=True).count(),
    }
    cards = integration_cards()
    health = integration_summary()  # integration-health problems (dead-man checks, broken channels) need you too
    for card in cards:
        for problem in health.get(int(card.integration.pk), {}).get("problems", []):
            card.todo.append((f"{problem['title']}: {problem['evidence']}"[:300], problem["fix_url"] or "/ops/health/"))
    return render(request, "web/dashboard.html", {
        "counts": counts, "cards": cards, "todo": [(card, text, url) for card in cards for text, url in card.todo],
        "alert_customers": open_alert_tickets_by_customer(),
    })


def _save_settings(actor: Actor, data: dict[str, Any]) -> str:
    diff = do_update_settings(actor, asset_tag_unique=data["asset_tag_unique"], junk_values=data["junk_values"])
    return "Saved the service-desk settings." if diff else "Settings unchanged."


def _save_toplevel(actor: Actor, data: dict[str, Any]) -> str:
    return f"Created top level '{do_create_toplevel(actor, data['name']).name}'."


def _save_group(actor: Actor, data: dict[str, Any]) -> str:
    return f"Created asset group '{do_create_asset_group(actor, data['name']).name}'."


def _save_type(actor: Actor, data: dict[str, Any]) -> str:
    return f"Created asset type '{do_create_asset_type(actor, data['name'], data['group']).name}'."


def _save_field(actor: Actor, data: dict[str, Any]) -> str:
    definition = do_create_field_definition(
        actor, data["name"], label=data["label"], kind=data["kind"], data_type=data["data_type"],
        choices=data["choices"], asset_types=data["asset_types"],
    )
    return f"Created field '{definition.label}' ({definition.key})."


def _save_show_field(actor: Actor, data: dict[str, Any]) -> str:
    definition = data["definition"]
    added = do_show_field_on_asset_types(actor, definition, data["asset_types"])
    return f"Field '{definition.label}' now shows on {added} more asset type(s)."


SECTIONS: dict[str, tuple[type[forms.Form], Callable[[Actor, dict[str, Any]], str], str]] = {
    "settings": (ServiceDeskSettingsForm, _save_settings, "name"),
    "toplevel": (TopLevelForm, _save_toplevel, "name"),
    "group": (AssetGroupForm, _save_group, "name"),
    "type": (AssetTypeForm, _save_type, "name"),
    "field": (FieldDefinitionForm, _save_field, "name"),
    "show_field": (ShowFieldForm, _save_show_field, "definition"),
}


def settings_page(request: HttpRequest) -> HttpResponse:
    """Service-desk settings, top levels, asset groups and types, and field definitions.

    Each section is its own form (posted with `section=<name>`); writes go through the actions, and an
    action's message is shown next to the form's main input.
    """
    current = ServiceDeskSettings.load()
    bound: dict[str, forms.Form] = {}
    if request.method == "POST":
        section = request.POST.get("section", "")
        if section in SECTIONS:
            form_class, save, main_field = SECTIONS[section]
            form = form_class(request.POST, prefix=section)
            if form.is_valid():
                try:
                    messages.success(request, save(Actor.ui(request.user), form.cleaned_data))
                except ValidationError as exc:
                    form.add_error(None if section == "settings" else main_field, exc)
                else:
                    return redirect("web:settings")
            bound[section] = form
        else:
            messages.error(request, "Unknown settings section; reload the page and try again.")
    initial = {"asset_tag_unique": current.asset_tag_unique,
               "junk_values": "\n".join(current.junk_values or DEFAULT_JUNK_VALUES)}
    forms_by_section = {
        name: bound.get(name) or form_class(prefix=name, initial=initial if name == "settings" else None)
        for name, (form_class, _, _) in SECTIONS.items()
    }
    context = {
        "forms": forms_by_section,
        "toplevels": TopLevel.objects.all(),
        "groups": AssetGroup.objects.prefetch_related("asset_types"),
        "types": AssetType.objects.select_related("group"),
        "definitions": FieldDefinition.objects.prefetch_related("asset_types"),
    }
    return render(request, "web/settings.html", context, status=400 if bound else 200)
