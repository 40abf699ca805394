"""The RMM's lists for the mapping dialogs (customers, sites, device types, fields), cached per integration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.records import DeviceType
from rmmbridge.integrations.connect import connector_for
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import Customer
from rmmbridge.sync.matching import normalise_name
from rmmbridge.sync.models import CustomerMapping, RemoteCatalog
from rmmbridge.sync.planner import type_label

ALL_TYPES = ""


def _entries(connector: Connector) -> list[dict[str, Any]]:
    """The customers and sites a mapping row can name; Datto RMM's sites are its customers."""
    customers: dict[str, str] = {}
    if connector.supports(Capability.CUSTOMERS) and not connector.sites_are_customers:
        customers = {c.external_id: c.name for c in connector.iter_customers()}
    entries: list[dict[str, Any]] = [
        {"id": key, "name": name, "kind": "customer", "customer_id": key, "customer_name": name}
        for key, name in customers.items()
    ]
    if connector.supports(Capability.SITES):
        for site in connector.iter_sites():
            if connector.sites_are_customers:
                entries.append({"id": site.external_id, "name": site.name, "kind": "customer",
                                "customer_id": site.external_id, "customer_name": site.name})
            else:
                parent = site.customer_external_id or ""
                entries.append({"id": site.external_id, "name": site.name, "kind": "site", "customer_id": parent,
                                "customer_name": customers.get(parent, "")})
    entries.sort(key=lambda e: (e["customer_name"].lower(), e["kind"] != "customer", e["name"].lower()))
    return entries


def _fields(connector: Connector, device_types: list[str]) -> dict[str, list[list[str]]]:
    fields = {ALL_TYPES: [[f.path, f.label] for f in connector.available_fields(None)]}
    for value in device_types:
        fields[value] = [[f.path, f.label] for f in connector.available_fields(DeviceType(value))]
    return fields


def fetch_catalog(connector: Connector) -> dict[str, Any]:
    """Read the lists from a connected RMM (raises ConnectorError when the RMM cannot be read)."""
    device_types = [t.value for t in DeviceType] if connector.supports(Capability.DEVICES) else []
    return {"entries": _entries(connector), "device_types": [[t, type_label(t)] for t in device_types],
            "fields": _fields(connector, device_types)}


def refresh_catalog(integration: Integration) -> RemoteCatalog:
    """Fetch the lists from the RMM now; on failure keep the last lists and record why."""
    catalog, _ = RemoteCatalog.objects.get_or_create(integration=integration)
    try:
        with connector_for(integration) as connector:
            data = fetch_catalog(connector)
    except ConnectorError as exc:
        catalog.error = f"Could not read the lists from {integration.vendor_name}: {exc.message}"
        catalog.save(update_fields=["error"])
        return catalog
    catalog.entries, catalog.device_types, catalog.fields = data["entries"], data["device_types"], data["fields"]
    catalog.fetched_at, catalog.error = timezone.now(), ""
    catalog.save()
    return catalog


def catalog_for(integration: Integration) -> RemoteCatalog:
    """The cached lists, fetched once from the RMM when none were fetched yet."""
    catalog = RemoteCatalog.objects.filter(integration=integration).first()
    if catalog is None or catalog.fetched_at is None:
        return refresh_catalog(integration)
    return catalog


def entry_label(entry: dict[str, Any]) -> str:
    """'Harbourview Dental Ltd' for a customer, 'Kestrel Logistics Inc / Depot 1' for a site."""
    if entry["kind"] == "site" and entry.get("customer_name"):
        return f"{entry['customer_name']} / {entry['name']}"
    return str(entry["name"])


def field_choices(catalog: RemoteCatalog, device_type: str) -> list[tuple[str, str]]:
    """The RMM fields a mapping can read for one device type (all types: the generic list)."""
    rows = catalog.fields.get(device_type) or catalog.fields.get(ALL_TYPES) or [list(f) for f in NORMALIZED_FIELDS]
    return [(str(path), str(label)) for path, label in rows]


@dataclass(frozen=True)
class Suggestion:
    """An unmapped RMM customer whose normalised name equals a local customer's."""

    entry: dict[str, Any]
    customer: Customer

    @property
    def label(self) -> str:
        return entry_label(self.entry)


def suggestions(integration: Integration, catalog: RemoteCatalog) -> list[Suggestion]:
    """Suggested customer mappings: RMM customers not mapped yet that have a local customer of the same name."""
    mapped = set(CustomerMapping.objects.filter(integration=integration).values_list("external_id", flat=True))
    by_name: dict[str, Customer] = {}
    for customer in Customer.objects.filter(active=True).order_by("id"):
        by_name.setdefault(normalise_name(customer.name), customer)
    found = []
    for entry in catalog.entries:
        if entry["kind"] != "customer" or entry["id"] in mapped:
            continue
        match = by_name.get(normalise_name(entry["name"]))
        if match is not None:
            found.append(Suggestion(entry, match))
    return found
