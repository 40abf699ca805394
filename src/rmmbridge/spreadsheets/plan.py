"""Planning a spreadsheet import: resolve every row to create, update, unchanged or error, with reasons."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower

from rmmbridge.servicedesk.actions import validate_values
from rmmbridge.servicedesk.fieldtypes import (
    DataType,
    FieldValueError,
    NumberFormatError,
    coerce_value,
    normalize_number_text,
)
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, EndUser, FieldDefinition, FieldKind, Site
from rmmbridge.spreadsheets.reader import Cell, Sheet, column_letter

NUMERIC_TYPES = (DataType.INTEGER.value, DataType.DECIMAL.value)

# Fixed columns (case-insensitive). Every other column is an asset field (by name or label) or `$CF<name>`.
CUSTOMER, SITE, ASSET_TYPE, ASSET_TAG, NAME, USER, PARENT_TAG, ACTIVE = (
    "customer", "site", "asset type", "asset tag", "name", "user", "parent asset tag", "active",
)
FIXED_COLUMNS = {
    CUSTOMER: "Customer", SITE: "Site", ASSET_TYPE: "Asset Type", ASSET_TAG: "Asset Tag", NAME: "Name",
    USER: "User", PARENT_TAG: "Parent Asset Tag", ACTIVE: "Active",
}
CUSTOM_FIELD_PREFIX = "$CF"


@dataclass
class RowPlan:
    """What one spreadsheet row will do."""

    row: int
    action: str  # create | update | unchanged | error
    reason: str = ""
    asset_id: int | None = None
    label: str = ""
    changes: dict[str, list[Any]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    duplicate_of: int | None = None  # the earlier row of the file this one repeats
    resolved: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("resolved")
        return data


@dataclass
class ImportPlan:
    """The whole plan: column problems, per-row plans and counts."""

    columns: dict[str, str]
    warnings: list[str]
    rows: list[RowPlan]
    encoding: str = ""
    decimal_separator: str = "."

    @property
    def counts(self) -> dict[str, int]:
        totals = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
        for row in self.rows:
            totals[row.action] += 1
        return totals

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "warnings": self.warnings, "counts": self.counts,
                "encoding": self.encoding, "decimal_separator": self.decimal_separator,
                "duplicates": sum(1 for r in self.rows if r.duplicate_of),
                "rows": [r.as_json() for r in self.rows]}


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell).strip()


def map_columns(header: list[str], definitions: Iterable[FieldDefinition]) -> tuple[dict[str, str], list[str]]:
    """Map each column title to a fixed column or a field key; return (mapping, warnings for ignored columns)."""
    by_name: dict[str, FieldDefinition] = {}
    custom: dict[str, FieldDefinition] = {}
    for definition in definitions:
        if definition.kind == FieldKind.CUSTOM_FIELD:
            custom[definition.name.lower()] = definition
        else:
            by_name[definition.name.lower()] = definition
            by_name.setdefault(definition.label.lower(), definition)
    mapping: dict[str, str] = {}
    warnings: list[str] = []
    for title in header:
        key = title.lower()
        if key in FIXED_COLUMNS:
            mapping[title] = key
        elif title.upper().startswith(CUSTOM_FIELD_PREFIX):
            name = title[len(CUSTOM_FIELD_PREFIX):].lower()
            if name in custom:
                mapping[title] = custom[name].key
            else:
                warnings.append(f"Column '{title}' is ignored: there is no custom field '{title[3:]}' "
                                "(create it under Settings > Fields, kind custom field).")
        elif key in by_name:
            mapping[title] = by_name[key].key
        else:
            warnings.append(f"Column '{title}' is ignored: it is neither a standard column "
                            f"({', '.join(FIXED_COLUMNS.values())}) nor an asset field; custom fields are "
                            "written as $CF<name>.")
    return mapping, warnings


def build_plan(sheet: Sheet) -> ImportPlan:
    """Resolve every row against the current database (read-only)."""
    definitions = {d.key: d for d in FieldDefinition.objects.all()}
    mapping, warnings = map_columns(sheet.header, definitions.values())
    fixed = {v: k for k, v in mapping.items() if v in FIXED_COLUMNS}
    if ASSET_TYPE not in fixed:
        warnings.insert(0, "The 'Asset Type' column is missing; every row needs an asset type.")
    if CUSTOMER not in fixed:
        warnings.insert(0, "The 'Customer' column is missing; every row needs a customer.")
    index = {title: position for position, title in enumerate(sheet.header)}

    def cell(row: list[Cell], column: str) -> Cell:
        title = fixed.get(column)
        return row[index[title]] if title is not None else None

    customers = {c.name.lower(): c for c in Customer.objects.all()}
    sites: dict[tuple[int, str], Site] = {(s.customer_id, s.name.lower()): s for s in Site.objects.all()}
    main_sites = {s.customer_id: s for s in sites.values() if s.is_main}
    types = {t.name.lower(): t for t in AssetType.objects.all()}
    tags = {_text(cell(r, ASSET_TAG)).lower() for _, r in sheet.rows} | {
        _text(cell(r, PARENT_TAG)).lower() for _, r in sheet.rows}
    tags.discard("")
    related = Asset.objects.select_related("asset_type", "site__customer", "end_user", "parent")
    by_tag: dict[str, list[Asset]] = defaultdict(list)
    tag_list = sorted(tags)
    for start in range(0, len(tag_list), 500):
        for asset in related.annotate(ltag=Lower("asset_tag")).filter(ltag__in=tag_list[start:start + 500]):
            by_tag[asset.asset_tag.lower()].append(asset)
    names = {_text(cell(r, NAME)).lower() for _, r in sheet.rows} - {""}
    by_name: dict[tuple[int, str], list[Asset]] = defaultdict(list)
    name_list = sorted(names)
    for start in range(0, len(name_list), 500):
        for named in related.annotate(lname=Lower("name")).filter(lname__in=name_list[start:start + 500]):
            by_name[(named.customer_id, named.name.lower())].append(named)
    users_by_email: dict[tuple[int, str], EndUser] = {}
    users_by_name: dict[tuple[int, str], list[EndUser]] = defaultdict(list)
    for user in EndUser.objects.all():
        if user.email:
            users_by_email[(user.customer_id, user.email.lower())] = user
        users_by_name[(user.customer_id, user.name.lower())].append(user)

    plans: list[RowPlan] = []
    seen: dict[tuple[Any, ...], int] = {}  # identity (tag, or customer + name) → first row with it
    for number, row in sheet.rows:
        plan = RowPlan(row=number, action="error")
        plans.append(plan)
        customer = customers.get(_text(cell(row, CUSTOMER)).lower())
        if customer is None:
            shown = _text(cell(row, CUSTOMER))
            plan.errors.append(f"Customer '{shown}' does not exist; import or create it first." if shown
                               else "Customer is empty.")
        site_name = _text(cell(row, SITE))
        site = None
        if customer is not None:
            site = sites.get((customer.pk, site_name.lower())) if site_name else main_sites.get(customer.pk)
            if site is None:
                plan.errors.append(f"Customer '{customer.name}' has no site '{site_name}'.")
        type_name = _text(cell(row, ASSET_TYPE))
        asset_type = types.get(type_name.lower())
        if asset_type is None:
            plan.errors.append(f"Asset type '{type_name}' does not exist (Settings > Asset types)." if type_name
                               else "Asset Type is empty.")
        tag = _text(cell(row, ASSET_TAG))
        name = _text(cell(row, NAME))
        plan.label = name or tag
        if not tag and not name:
            plan.errors.append("A row needs an Asset Tag or a Name.")
        raw_values = {
            mapping[t]: row[index[t]] for t in sheet.header if t in mapping and mapping[t] not in FIXED_COLUMNS
        }
        raw_values = {k: v for k, v in raw_values.items() if v not in (None, "")}
        for key, raw in list(raw_values.items()):
            definition = definitions.get(key)
            if definition is not None and definition.data_type in NUMERIC_TYPES and isinstance(raw, str):
                try:
                    raw_values[key] = normalize_number_text(raw, sheet.decimal_separator)
                except NumberFormatError as exc:
                    title = next(t for t in sheet.header if mapping.get(t) == key)
                    plan.errors.append(f"Cell {column_letter(index[title] + 1)}{number} ('{title}'): {exc}.")
                    del raw_values[key]
        values: dict[str, Any] = {}
        try:
            values = validate_values(raw_values, definitions)
        except ValidationError as exc:
            plan.errors.extend(exc.messages)
        active_cell = cell(row, ACTIVE)
        active: bool | None = None
        if active_cell not in (None, ""):
            try:
                active = bool(coerce_value("Active", DataType.BOOLEAN, active_cell))
            except FieldValueError as exc:
                plan.errors.append(str(exc))
        end_user = None
        user_text = _text(cell(row, USER)).lower()
        if user_text and customer is not None:
            end_user = users_by_email.get((customer.pk, user_text))
            if end_user is None:
                candidates = users_by_name.get((customer.pk, user_text), [])
                if len(candidates) == 1:
                    end_user = candidates[0]
                else:
                    plan.errors.append(f"User '{_text(cell(row, USER))}' "
                                       + ("matches several users" if candidates else "is not a user")
                                       + f" of customer '{customer.name}'; use the e-mail address.")
        parent = None
        parent_tag = _text(cell(row, PARENT_TAG))
        if parent_tag:
            found = by_tag.get(parent_tag.lower(), [])
            if len(found) == 1:
                parent = found[0]
            else:
                plan.errors.append(f"Parent asset tag '{parent_tag}' "
                                   + ("matches several assets." if found else "matches no asset."))
        existing: Asset | None = None
        if tag:
            found = by_tag.get(tag.lower(), [])
            if len(found) > 1:
                plan.errors.append(f"Asset tag '{tag}' matches {len(found)} assets; fix the duplicates first.")
            elif found:
                existing, plan.reason = found[0], f"matched by asset tag '{tag}'"
        if existing is None and name and customer is not None and not plan.errors:
            found = by_name.get((customer.pk, name.lower()), [])
            if len(found) > 1:
                plan.errors.append(f"Name '{name}' matches {len(found)} assets of '{customer.name}'; add an Asset Tag.")
            elif found and not (tag and found[0].asset_tag):
                existing, plan.reason = found[0], f"matched by name '{name}' within customer '{customer.name}'"
        if customer is not None and not plan.errors:
            identity = ("tag", tag.lower()) if tag else ("name", customer.pk, name.lower())
            first = seen.get(identity)
            if first is not None:
                plan.duplicate_of = first
                what = f"asset tag '{tag}'" if tag else f"name '{name}' for customer '{customer.name}' and no asset tag"
                plan.errors.append(f"Row {number} repeats row {first} (same {what}): remove one of the two rows"
                                   + ("." if tag else " or give each an asset tag."))
            else:
                seen[identity] = number
        if plan.errors:
            continue
        assert customer is not None
        assert site is not None
        assert asset_type is not None
        plan.resolved = {"asset_type": asset_type, "site": site, "end_user": end_user, "parent": parent,
                         "name": name, "asset_tag": tag, "active": active, "values": values, "existing": existing}
        wanted: dict[str, Any] = {"asset_type": asset_type.name, "site": str(site), "name": name or None,
                                  "asset_tag": tag or None, "end_user": end_user.name if end_user else None,
                                  "parent": str(parent) if parent else None, "active": active}
        if existing is None:
            plan.action, plan.reason = "create", "no asset with this asset tag or name"
            plan.changes = {k: [None, v] for k, v in wanted.items() if v is not None}
            plan.changes.update({k: [None, v] for k, v in values.items()})
            continue
        plan.asset_id = existing.pk
        current = existing
        now = {"asset_type": current.asset_type.name, "site": str(current.site), "name": current.name or None,
               "asset_tag": current.asset_tag or None, "end_user": current.end_user.name if current.end_user else None,
               "parent": str(current.parent) if current.parent else None, "active": current.active}
        plan.changes = {k: [now[k], v] for k, v in wanted.items() if v is not None and now[k] != v}
        plan.changes.update({k: [current.values.get(k), v] for k, v in values.items() if current.values.get(k) != v})
        plan.action = "update" if plan.changes else "unchanged"
    duplicates = sum(1 for p in plans if p.duplicate_of)
    if duplicates:
        warnings.append(f"{duplicates} row(s) repeat an earlier row of this file and will not be imported; "
                        "see the rows marked as duplicates.")
    return ImportPlan(columns=mapping, warnings=warnings, rows=plans, encoding=sheet.encoding,
                      decimal_separator=sheet.decimal_separator)
