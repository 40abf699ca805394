"""Sync pages: Imports, the integration's sync setup (settings, mapping tables), preview and run history."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.cw_automate import const as cw_automate
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, record_audit
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.models import FieldDefinition
from rmmbridge.sync.catalog import catalog_for, refresh_catalog, suggestions
from rmmbridge.sync.forms import (
    DEVICE_TYPE_CHOICES,
    CustomerMappingForm,
    FieldMappingForm,
    SettingsForm,
    TypeMappingForm,
)
from rmmbridge.sync.models import (
    AssetTypeMapping,
    CustomerMapping,
    FieldMapping,
    RemoteCatalog,
    RowStatus,
    SyncRun,
)
from rmmbridge.sync.plan import COUNT_KEYS
from rmmbridge.sync.planner import type_label
from rmmbridge.sync.snapshot import sync_config
from rmmbridge.sync.wording import describe_rows

ROW_LIMIT = 500
APPLICABLE = ("create", "update", "link", "unlink", "deactivate", "reactivate")
TABLES: dict[str, tuple[Any, Any, str]] = {
    "customers": (CustomerMapping, CustomerMappingForm, "Customer and site mappings"),
    "types": (AssetTypeMapping, TypeMappingForm, "Asset type mappings"),
    "fields": (FieldMapping, FieldMappingForm, "Field mappings"),
}



def _capabilities(integration: Integration) -> frozenset[Capability]:
    cls = REGISTRY.get(integration.vendor)
    return cls.capabilities if cls else frozenset()


#: Device types each of Automate's four import buttons covers (Halo: Servers, Workstations, Routers, Printers).
#: Printers ride along with servers and workstations (their children; the connector asks for them only when printers
#: are mapped, and an unmapped printer type is then not imported).
AUTOMATE_BUTTON_TYPES = {"server": "server,printer", "workstation": "workstation,laptop,virtual_machine,printer",
                         "network_device": "network_device", "printer": "printer"}


def _import_buttons(integration: Integration) -> list[tuple[str, str, str, str]]:
    """(label, entities, device types, why it is disabled or '') of each import button the vendor supports."""
    caps = _capabilities(integration)
    buttons = [("Import customers & sites", "customers,sites", "", "")]
    if Capability.USERS in caps:
        buttons.append(("Import users", "users", "", ""))
    if Capability.DEVICES in caps:
        buttons.append(("Import all assets", "assets", "", ""))
        if integration.vendor == cw_automate.SLUG:
            buttons += _automate_buttons(integration)
        else:
            buttons += [(f"Import {label.lower()}s", "assets", value, "") for value, label in DEVICE_TYPE_CHOICES]
    return buttons


def _automate_buttons(integration: Integration) -> list[tuple[str, str, str, str]]:
    """Automate's four types, as in Halo: a type without an asset type mapping cannot be imported (its button is
    disabled with the reason), and printers come only with servers and workstations, as their child assets."""
    mapped = set(AssetTypeMapping.objects.filter(integration=integration, ignore=False, asset_type__isnull=False)
                 .values_list("device_type", flat=True))
    out: list[tuple[str, str, str, str]] = []
    for value, label in cw_automate.ASSET_TYPES:
        reason = ""
        if value not in mapped:
            reason = f"Map {label} to an asset type first (Asset type mappings below)."
        elif value == "printer":
            reason = "Printers are imported with servers and workstations, as their child assets."
        out.append((f"Import {label.lower()}", "assets", AUTOMATE_BUTTON_TYPES[value], reason))
    return out


def imports(request: HttpRequest) -> HttpResponse:
    """Every integration with its last runs and its import buttons."""
    items = []
    for integration in Integration.objects.all():
        items.append({"integration": integration, "buttons": _import_buttons(integration)[:3],
                      "runs": list(SyncRun.objects.filter(integration=integration)[:3])})
    return render(request, "sync/imports.html", {"items": items})


def _table_context(integration: Integration, key: str) -> dict[str, Any]:
    model, _, title = TABLES[key]
    rows = list(model.objects.filter(integration=integration).select_related(*_RELATED[key]))
    table: dict[str, Any] = {"key": key, "title": title, "rows": rows}
    if key == "customers":
        catalog = RemoteCatalog.objects.filter(integration=integration).first()
        table["catalog"] = catalog
        table["suggestions"] = suggestions(integration, catalog) if catalog is not None else []
    for row in rows if key != "customers" else ():
        row.device_type_label = type_label(row.device_type) if row.device_type else ""
    if key == "fields":
        labels = {d.key: d.label for d in FieldDefinition.objects.all()}
        labels["name"] = "Name"
        for row in rows:
            row.target_label = labels.get(row.target, row.target)
            row.target_kind = "Custom field" if row.target.startswith("CF") else "Asset field"
    return table


_RELATED = {"customers": ("customer", "site"), "types": ("asset_type",), "fields": ()}


def _tables(integration: Integration) -> list[dict[str, Any]]:
    return [_table_context(integration, key) for key in TABLES]


@require_http_methods(["GET", "POST"])
def integration_setup(request: HttpRequest, pk: int) -> HttpResponse:
    """The sync panel of an integration's setup page: settings, mapping tables, import buttons, history."""
    integration = get_object_or_404(Integration, pk=pk)
    config = sync_config(integration)
    form = SettingsForm(request.POST or None, instance=config, connector_class=REGISTRY.get(integration.vendor))
    if request.method == "POST":
        if form.is_valid():
            before = {k: str(getattr(config, k)) for k in form.changed_data if hasattr(config, k)}
            form.save()
            record_audit(Actor.ui(request.user), config, "update",
                         {k: [v, str(getattr(config, k))] for k, v in before.items()})
            messages.success(request, "Sync settings saved.")
            return redirect("sync:integration_setup", pk=pk)
        messages.error(request, "The settings were not saved: fix the fields marked below.")
    return render(request, "sync/setup.html", {
        "integration": integration, "form": form, "tables": _tables(integration),
        "buttons": _import_buttons(integration), "runs": SyncRun.objects.filter(integration=integration)[:20],
    })


def _table_response(request: HttpRequest, integration: Integration, key: str) -> HttpResponse:
    return render(request, "sync/_mapping_table.html", {"integration": integration,
                                                          "table": _table_context(integration, key)})


def _dialog(request: HttpRequest, integration: Integration, table: str, row: Any = None) -> HttpResponse:
    """The Add/Edit dialog of a mapping table (GET; GET with values reloads dependent lists) and saving it."""
    if table not in TABLES:
        raise Http404("Unknown mapping table.")
    _, form_class, title = TABLES[table]
    catalog = catalog_for(integration)
    action = (reverse("sync:mapping_edit", args=[integration.pk, table, row.pk]) if row is not None
              else reverse("sync:mapping_add", args=[integration.pk, table]))
    kwargs: dict[str, Any] = {"integration": integration, "catalog": catalog, "refresh_url": action,
                              "instance": row}
    if request.method == "POST":
        form = form_class(request.POST, **kwargs)
    else:
        form = form_class(initial=request.GET.dict() or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        before = str(row) if row is not None else None
        saved = form.save(commit=False)
        saved.integration = integration
        saved.save()
        record_audit(Actor.ui(request.user), saved, "update" if row is not None else "create",
                     {"mapping": [before, str(saved)]})
        response = _table_response(request, integration, table)
        response["HX-Trigger"] = "mapping-added"
        return response
    response = render(request, "sync/_mapping_dialog.html", {
        "integration": integration, "form": form, "table": table, "title": title, "catalog": catalog,
        "action": action, "editing": row is not None,
    }, status=422 if request.method == "POST" else 200)
    if request.method == "POST":  # the errors go back into the dialog, next to their fields
        response["HX-Retarget"] = "#mapping-dialog-body"
        response["HX-Reswap"] = "innerHTML"
    return response


@require_http_methods(["GET", "POST"])
def mapping_add(request: HttpRequest, pk: int, table: str) -> HttpResponse:
    """The Add dialog of a mapping table (GET) and adding the row (POST, answers with the refreshed table)."""
    return _dialog(request, get_object_or_404(Integration, pk=pk), table)


@require_http_methods(["GET", "POST"])
def mapping_edit(request: HttpRequest, pk: int, table: str, row_id: int) -> HttpResponse:
    """The Edit dialog of one mapping row (GET) and saving it (POST, answers with the refreshed table)."""
    integration = get_object_or_404(Integration, pk=pk)
    if table not in TABLES:
        raise Http404("Unknown mapping table.")
    row = get_object_or_404(TABLES[table][0], pk=row_id, integration=integration)
    return _dialog(request, integration, table, row)


@require_POST
def catalog_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    """Fetch the RMM's customers, sites, device types and fields again (answers with the customer table)."""
    integration = get_object_or_404(Integration, pk=pk)
    refresh_catalog(integration)
    return _table_response(request, integration, "customers")


@require_POST
def accept_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a mapping row for every suggested match (RMM customer → local customer of the same name)."""
    integration = get_object_or_404(Integration, pk=pk)
    catalog = catalog_for(integration)
    actor = Actor.ui(request.user)
    for suggestion in suggestions(integration, catalog):
        row = CustomerMapping.objects.create(integration=integration, external_id=suggestion.entry["id"],
                                             external_name=suggestion.label, customer=suggestion.customer)
        record_audit(actor, row, "create", {"mapping": [None, str(row)]})
    return _table_response(request, integration, "customers")


@require_POST
def mapping_delete(request: HttpRequest, pk: int, table: str, row_id: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=pk)
    if table not in TABLES:
        raise Http404("Unknown mapping table.")
    model = TABLES[table][0]
    row = get_object_or_404(model, pk=row_id, integration=integration)
    record_audit(Actor.ui(request.user), row, "delete", {"mapping": [str(row), None]})
    row.delete()
    return _table_response(request, integration, table)


def _filtered_rows(request: HttpRequest, run: SyncRun) -> tuple[list[Any], int]:
    rows = run.rows.select_related("run")
    entity, kind, text = request.GET.get("entity", ""), request.GET.get("kind", ""), request.GET.get("q", "").strip()
    if entity:
        rows = rows.filter(entity=entity)
    if kind:
        rows = rows.filter(kind=kind)
    if text:
        rows = rows.filter(Q(label__icontains=text) | Q(reason__icontains=text) | Q(external_id__icontains=text))
    total = rows.count()
    return list(rows[:ROW_LIMIT]), total


def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run: counts first, then the filterable plan rows with diffs and reasons (apply from a preview)."""
    run = get_object_or_404(SyncRun.objects.select_related("integration"), pk=run_id)
    rows, total = _filtered_rows(request, run)
    describe_rows(rows)
    context = {
        "run": run, "rows": rows, "total": total, "limit": ROW_LIMIT, "count_keys": COUNT_KEYS,
        "can_apply": run.status in ("planned", "needs_confirmation")
        and run.rows.filter(status=RowStatus.PLANNED, kind__in=APPLICABLE).exists(),
        "applicable": APPLICABLE, "entities": sorted(set(run.rows.values_list("entity", flat=True))),
        "kinds": sorted(set(run.rows.values_list("kind", flat=True))), "filters": request.GET,
    }
    if is_htmx(request):
        return render(request, "sync/_rows.html", context)
    return render(request, "sync/run_detail.html", context)


@require_POST
def asset_unlink(request: HttpRequest, asset_id: int, ref_id: int) -> HttpResponse:
    """Unlink an RMM device from an asset (audited); 'revert' also restores what that link's syncs overwrote."""
    from rmmbridge.sync.links import UnlinkError, unlink_device

    try:
        result = unlink_device(Actor.ui(request.user), asset_id, ref_id, revert=request.POST.get("revert") == "1")
    except UnlinkError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, result.message)
    return redirect("servicedesk:asset_detail", pk=asset_id)
