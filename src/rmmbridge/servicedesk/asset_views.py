"""Service-desk asset pages: the filtered list, the detail with field provenance, the forms."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from rmmbridge.servicedesk import provenance
from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_upsert_asset,
)
from rmmbridge.servicedesk.fieldtypes import DataType
from rmmbridge.servicedesk.filters import AssetFilters, cheap_page
from rmmbridge.servicedesk.forms import VALUE_PREFIX, AssetForm, value_to_input
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.listing import audit_for, list_response, query_without_page
from rmmbridge.servicedesk.models import (
    Asset,
    AssetType,
    Customer,
    FieldDefinition,
    FieldKind,
    Site,
)

MAX_SITE_CHOICES = 300


# Assets ------------------------------------------------------------------------------------------------


def asset_list(request: HttpRequest) -> HttpResponse:
    """Assets filtered by customer, site, type and active flag, searched by name, tag and field values."""
    filters = AssetFilters.from_params(request.GET)
    assets = filters.apply(Asset.objects.select_related("asset_type", "site", "customer", "end_user"))
    page = cheap_page(assets, request.GET.get("page"), count=not filters.q)
    sites = Site.objects.select_related("customer").only("id", "name", "customer__name")
    if filters.customer is not None:
        sites = sites.filter(customer_id=filters.customer)
    site_choices = list(sites[: MAX_SITE_CHOICES + 1])
    sites_capped = len(site_choices) > MAX_SITE_CHOICES
    if sites_capped:  # too many to list: choose a customer first (a chosen site stays listed)
        site_choices = list(sites.filter(pk=filters.site)) if filters.site is not None else []
    context: dict[str, Any] = {"page": page, "filters": filters, "query": query_without_page(request),
                               "sites": site_choices, "sites_capped": sites_capped}
    if is_htmx(request):
        # The site choices follow the customer filter: re-rendered out of band with the results.
        context["oob"] = True
        return list_response(request, "servicedesk/_asset_rows.html", context)
    context.update(customers=Customer.objects.only("id", "name"), types=AssetType.objects.only("id", "name"))
    return list_response(request, "servicedesk/asset_list.html", context)


def display_value(value: Any, data_type: str) -> str:
    """A stored field value as a person reads it (Yes/No, dates as stored ISO text, numbers as is)."""
    if value is None or value == "":
        return ""
    if data_type == DataType.BOOLEAN.value:
        return "Yes" if value else "No"
    if data_type == DataType.DATETIME.value and isinstance(value, str):
        return value.replace("T", " ").replace("+00:00", " UTC")
    return str(value)


def field_rows(asset: Asset, definitions: list[FieldDefinition]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(asset fields, custom fields) to show: the fields of the asset's type plus any other stored value."""
    attached = set(asset.asset_type.fields.values_list("pk", flat=True))
    by_key = {d.key: d for d in definitions}
    asset_fields: list[dict[str, Any]] = []
    custom_fields: list[dict[str, Any]] = []
    for definition in definitions:
        if definition.pk not in attached and definition.key not in asset.values:
            continue
        value = asset.values.get(definition.key)
        row = {"key": definition.key, "label": definition.label, "data_type": definition.data_type,
               "value": display_value(value, definition.data_type), "attached": definition.pk in attached,
               "source": _source(asset, definition.key) if definition.key in asset.values else None}
        (custom_fields if definition.kind == FieldKind.CUSTOM_FIELD else asset_fields).append(row)
    for key, value in sorted(asset.values.items()):
        if key not in by_key:
            asset_fields.append({"key": key, "label": key, "data_type": "unknown", "value": str(value),
                                 "attached": False, "source": _source(asset, key)})
    return asset_fields, custom_fields


def _source(asset: Asset, key: str) -> dict[str, Any]:
    """Where a field's value came from and when (a local edit marked), from the asset's provenance."""
    shown = provenance.describe(provenance.source_of(asset.provenance, key))
    shown["edited"] = key in (asset.locally_edited or [])
    return shown


def external_ids(asset: Asset) -> list[Any]:
    """ExternalRef rows of kind asset for this asset, with their integration (looked up by app registry so
    servicedesk does not import integrations)."""
    try:
        ref_model = apps.get_model("integrations", "ExternalRef")
    except LookupError:
        return []
    return list(ref_model.objects.filter(kind="asset", object_id=asset.pk).select_related("integration"))


def asset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An asset with its fields, custom fields, parent, children, user, external IDs and audit trail."""
    asset = get_object_or_404(
        Asset.objects.select_related("asset_type__group", "site", "customer", "end_user", "parent"), pk=pk
    )
    definitions = list(FieldDefinition.objects.all())
    asset_fields, custom_fields = field_rows(asset, definitions)
    context = {
        "asset": asset,
        "asset_fields": asset_fields,
        "custom_fields": custom_fields,
        "children": asset.children.select_related("asset_type").order_by("name", "id")[:200],
        "refs": external_ids(asset),
        "audit": audit_for("asset", asset.pk),
        "field_labels": {d.key: d.label for d in definitions},
        "core_sources": {key: _source(asset, key) for key in ("name", "asset_type", "site", "end_user")},
    }
    return render(request, "servicedesk/asset_detail.html", context)


def _definitions_for(asset_type: AssetType | None, asset: Asset | None) -> list[FieldDefinition]:
    """Field definitions the form shows: those of the type, plus any that hold a stored value."""
    stored = set(asset.values) if asset is not None else set()
    wanted = []
    type_fields = set(asset_type.fields.values_list("pk", flat=True)) if asset_type is not None else set()
    for definition in FieldDefinition.objects.all():
        if definition.pk in type_fields or definition.key in stored:
            wanted.append(definition)
    return wanted


def _asset_form_response(request: HttpRequest, form: AssetForm, asset: Asset | None) -> HttpResponse:
    title = f"Edit {asset}" if asset else "New asset"
    cancel = reverse("servicedesk:asset_detail", args=[asset.pk]) if asset else reverse("servicedesk:asset_list")
    return render(request, "servicedesk/asset_form.html", {"form": form, "asset": asset, "title": title,
                                                            "cancel": cancel})


def asset_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit an asset through do_upsert_asset; each bad value's message shows next to its input."""
    asset = get_object_or_404(Asset.objects.select_related("asset_type", "site", "end_user", "parent"), pk=pk)
    definitions = _definitions_for(asset.asset_type, asset)
    initial: dict[str, Any] = {
        "name": asset.name, "asset_tag": asset.asset_tag, "asset_type": asset.asset_type_id, "site": asset.site_id,
        "end_user": asset.end_user_id, "parent": asset.parent_id, "active": asset.active,
    }
    for definition in definitions:
        initial[VALUE_PREFIX + definition.key] = value_to_input(asset.values.get(definition.key), definition.data_type)
    form = AssetForm(request.POST or None, initial=initial, asset=asset, definitions=definitions)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wanted = AssetInput(
            asset_type=data["asset_type"], site=data["site"], name=data["name"], asset_tag=data["asset_tag"],
            end_user=data["end_user"], parent=data["parent"], active=data["active"], values=form.raw_values(),
            clear_end_user=data["end_user"] is None, clear_parent=data["parent"] is None,
        )
        try:
            _, diff = do_upsert_asset(Actor.ui(request.user), wanted, asset=asset)
        except ValidationError as exc:
            asset.refresh_from_db()
            form.add_action_errors(exc)
        else:
            messages.success(request, f"Saved {len(diff)} change(s) to '{asset}'." if diff else "Nothing changed.")
            return redirect("servicedesk:asset_detail", pk=asset.pk)
    return _asset_form_response(request, form, asset)


def asset_create(request: HttpRequest) -> HttpResponse:
    """Create an asset; the fields of the chosen asset type appear once a type is picked."""
    type_id = request.POST.get("asset_type") or request.GET.get("asset_type") or ""
    asset_type = AssetType.objects.filter(pk=int(type_id)).first() if type_id.isdigit() else None
    definitions = _definitions_for(asset_type, None)
    site_id = request.POST.get("site") or request.GET.get("site") or ""
    site = Site.objects.filter(pk=int(site_id)).first() if site_id.isdigit() else None
    initial = {"asset_type": asset_type.pk if asset_type else None, "site": site.pk if site else None, "active": True}
    form = AssetForm(request.POST or None, initial=initial, definitions=definitions,
                     customer_id=site.customer_id if site else None)
    if request.method == "GET" and "name" in request.GET:  # "Show fields" keeps what was typed so far
        for key in form.fields:
            if key in request.GET and key not in ("asset_type", "site"):
                form.initial[key] = request.GET.get(key)
        if "active" in form.fields:
            form.initial["active"] = "active" in request.GET
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        wanted = AssetInput(
            asset_type=data["asset_type"], site=data["site"], name=data["name"], asset_tag=data["asset_tag"],
            end_user=data["end_user"], parent=data["parent"], active=data["active"], values=form.raw_values(),
        )
        try:
            asset, _ = do_upsert_asset(Actor.ui(request.user), wanted)
        except ValidationError as exc:
            form.add_action_errors(exc)
        else:
            messages.success(request, f"Created asset '{asset}'.")
            return redirect("servicedesk:asset_detail", pk=asset.pk)
    return _asset_form_response(request, form, None)
