"""Service-desk pages: customers, sites, users and assets (lists with HTMX filtering, details, forms)."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_POST

from rmmbridge.servicedesk import provenance
from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_customer,
    do_create_end_user,
    do_create_site,
    do_set_main_site,
    do_update_customer,
    do_update_end_user,
    do_update_site,
    do_upsert_asset,
)
from rmmbridge.servicedesk.fieldtypes import DataType
from rmmbridge.servicedesk.filters import AssetFilters, cheap_page
from rmmbridge.servicedesk.forms import VALUE_PREFIX, AssetForm, CustomerForm, EndUserForm, SiteForm, value_to_input
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.models import (
    Asset,
    AssetType,
    AuditEntry,
    Customer,
    EndUser,
    FieldDefinition,
    FieldKind,
    Site,
    TopLevel,
)

AUDIT_ROWS = 50
MAX_SITE_CHOICES = 300


def _list_response(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    """Render a list page or its HTMX partial; caches must keep the two apart."""
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _query_without_page(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


def _count_of(model: type[Any], link: str, **filters: Any) -> Coalesce:
    """A correlated COUNT subquery (avoids the row explosion of several joined COUNTs)."""
    counted = (
        model.objects.filter(**{link: OuterRef("pk")}, **filters)
        .order_by()
        .values(link)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _audit_for(kind: str, pk: int) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(object_type=kind, object_id=pk).select_related("actor")[:AUDIT_ROWS]


# Customers ---------------------------------------------------------------------------------------------


def customer_list(request: HttpRequest) -> HttpResponse:
    """Customers with their site, user and active asset counts; search by name, filter by top level."""
    q = (request.GET.get("q") or "").strip()
    toplevel = request.GET.get("toplevel") or ""
    customers = Customer.objects.select_related("toplevel").annotate(
        site_count=_count_of(Site, "customer"),
        user_count=_count_of(EndUser, "customer"),
        asset_count=_count_of(Asset, "customer", active=True),
    )
    if q:
        customers = customers.filter(name__icontains=q)
    if toplevel.isdigit():
        customers = customers.filter(toplevel_id=int(toplevel))
    page = cheap_page(customers, request.GET.get("page"))
    context = {"page": page, "q": q, "toplevel": toplevel, "toplevels": TopLevel.objects.all(),
               "query": _query_without_page(request)}
    template = "servicedesk/_customer_rows.html" if is_htmx(request) else "servicedesk/customer_list.html"
    return _list_response(request, template, context)


def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer with its sites, users and asset count."""
    customer = get_object_or_404(Customer.objects.select_related("toplevel"), pk=pk)
    sites = customer.sites.annotate(asset_count=_count_of(Asset, "site", active=True),
                                    user_count=_count_of(EndUser, "site"))
    users = customer.users.select_related("site")[:200]
    context = {
        "customer": customer,
        "sites": sites,
        "users": users,
        "user_total": customer.users.count(),
        "asset_count": customer.assets.filter(active=True).count(),
        "audit": _audit_for("customer", customer.pk),
    }
    return render(request, "servicedesk/customer_detail.html", context)


def customer_create(request: HttpRequest) -> HttpResponse:
    """Create a customer together with its main site."""
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = do_create_customer(Actor.ui(request.user), data["name"], toplevel=data["toplevel"],
                                          main_site_name=data["main_site_name"], notes=data["notes"])
        except ValidationError as exc:
            form.add_error("name" if "customer" in str(exc).lower() else None, exc)
        else:
            messages.success(request, f"Created customer '{customer.name}'.")
            return redirect("servicedesk:customer_detail", pk=customer.pk)
    return render(request, "servicedesk/form.html", {"form": form, "title": "New customer",
                                                      "cancel": reverse("servicedesk:customer_list")})


def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a customer's name, top level, active flag and notes."""
    customer = get_object_or_404(Customer, pk=pk)
    initial = {"name": customer.name, "toplevel": customer.toplevel_id, "active": customer.active,
               "notes": customer.notes, "main_site_name": "Main"}
    form = CustomerForm(request.POST or None, initial=initial)
    del form.fields["main_site_name"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_customer(Actor.ui(request.user), customer, name=data["name"], toplevel=data["toplevel"],
                               active=data["active"], notes=data["notes"])
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Saved customer '{customer.name}'.")
            return redirect("servicedesk:customer_detail", pk=customer.pk)
    return render(request, "servicedesk/form.html", {
        "form": form, "title": f"Edit {customer.name}",
        "cancel": reverse("servicedesk:customer_detail", args=[customer.pk])})


# Sites -------------------------------------------------------------------------------------------------


def site_list(request: HttpRequest) -> HttpResponse:
    """Sites of every customer; filter by customer, search by name."""
    q = (request.GET.get("q") or "").strip()
    customer = request.GET.get("customer") or ""
    sites = Site.objects.select_related("customer").annotate(asset_count=_count_of(Asset, "site", active=True))
    if q:
        sites = sites.filter(Q(name__icontains=q) | Q(customer__name__icontains=q))
    if customer.isdigit():
        sites = sites.filter(customer_id=int(customer))
    page = cheap_page(sites, request.GET.get("page"))
    context = {"page": page, "q": q, "customer": customer, "customers": Customer.objects.only("id", "name"),
               "query": _query_without_page(request)}
    template = "servicedesk/_site_rows.html" if is_htmx(request) else "servicedesk/site_list.html"
    return _list_response(request, template, context)


def site_create(request: HttpRequest) -> HttpResponse:
    """Add a site to a customer."""
    form = SiteForm(request.POST or None, initial={"customer": request.GET.get("customer")})
    del form.fields["active"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            site = do_create_site(Actor.ui(request.user), data["customer"], data["name"], address=data["address"])
        except ValidationError as exc:
            form.add_error("name", exc)
        else:
            messages.success(request, f"Added site '{site.name}'.")
            return redirect("servicedesk:customer_detail", pk=site.customer_id)
    return render(request, "servicedesk/form.html", {"form": form, "title": "New site",
                                                      "cancel": reverse("servicedesk:site_list")})


def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a site's name, address and active flag."""
    site = get_object_or_404(Site.objects.select_related("customer"), pk=pk)
    form = SiteForm(request.POST or None, initial={"customer": site.customer_id, "name": site.name,
                                                   "address": site.address, "active": site.active})
    del form.fields["customer"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_site(Actor.ui(request.user), site, name=data["name"], address=data["address"],
                           active=data["active"])
        except ValidationError as exc:
            form.add_error("active" if "deactivated" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Saved site '{site.name}'.")
            return redirect("servicedesk:customer_detail", pk=site.customer_id)
    return render(request, "servicedesk/form.html", {
        "form": form, "title": f"Edit site {site}",
        "cancel": reverse("servicedesk:customer_detail", args=[site.customer_id])})


@require_POST
def site_make_main(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a site its customer's main site."""
    site = get_object_or_404(Site, pk=pk)
    try:
        do_set_main_site(Actor.ui(request.user), site)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"'{site.name}' is now the main site.")
    return redirect("servicedesk:customer_detail", pk=site.customer_id)


# Users -------------------------------------------------------------------------------------------------


def user_list(request: HttpRequest) -> HttpResponse:
    """Users of every customer; filter by customer, search by name or e-mail."""
    q = (request.GET.get("q") or "").strip()
    customer = request.GET.get("customer") or ""
    users = EndUser.objects.select_related("site", "customer")
    if q:
        users = users.filter(Q(name__icontains=q) | Q(email__icontains=q))
    if customer.isdigit():
        users = users.filter(customer_id=int(customer))
    page = cheap_page(users, request.GET.get("page"))
    context = {"page": page, "q": q, "customer": customer, "customers": Customer.objects.only("id", "name"),
               "query": _query_without_page(request)}
    template = "servicedesk/_user_rows.html" if is_htmx(request) else "servicedesk/user_list.html"
    return _list_response(request, template, context)


def user_create(request: HttpRequest) -> HttpResponse:
    """Create a user at a site."""
    form = EndUserForm(request.POST or None)
    del form.fields["active"]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = do_create_end_user(Actor.ui(request.user), data["site"], data["name"], email=data["email"],
                                      phone=data["phone"])
        except ValidationError as exc:
            form.add_error("email" if "e-mail" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Created user '{user.name}'.")
            return redirect("servicedesk:user_list")
    return render(request, "servicedesk/form.html", {"form": form, "title": "New user",
                                                      "cancel": reverse("servicedesk:user_list")})


def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a user's name, e-mail, phone, site and active flag."""
    user = get_object_or_404(EndUser, pk=pk)
    form = EndUserForm(request.POST or None, initial={"site": user.site_id, "name": user.name, "email": user.email,
                                                      "phone": user.phone, "active": user.active})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_update_end_user(Actor.ui(request.user), user, **data)
        except ValidationError as exc:
            form.add_error("email" if "e-mail" in str(exc) else "name", exc)
        else:
            messages.success(request, f"Saved user '{user.name}'.")
            return redirect("servicedesk:user_list")
    return render(request, "servicedesk/form.html", {"form": form, "title": f"Edit {user.name}",
                                                      "cancel": reverse("servicedesk:user_list")})


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
    context: dict[str, Any] = {"page": page, "filters": filters, "query": _query_without_page(request),
                               "sites": site_choices, "sites_capped": sites_capped}
    if is_htmx(request):
        # The site choices follow the customer filter: re-rendered out of band with the results.
        context["oob"] = True
        return _list_response(request, "servicedesk/_asset_rows.html", context)
    context.update(customers=Customer.objects.only("id", "name"), types=AssetType.objects.only("id", "name"))
    return _list_response(request, "servicedesk/asset_list.html", context)


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
        "audit": _audit_for("asset", asset.pk),
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

