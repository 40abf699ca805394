"""Plan rows in words for the preview: field labels, names with their customer, user names, no empty rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rmmbridge.integrations.models import ExternalRef
from rmmbridge.servicedesk.models import Asset, Customer, EndUser, FieldDefinition, Site

EMPTY = "—"
LABELS = {"name": "Name", "asset_type": "Asset type", "site": "Site", "end_user": "User", "parent": "Parent asset",
          "active": "Status", "email": "E-mail", "customer": "Customer", "asset_tag": "Asset tag"}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _plain(value: Any) -> str:
    if _empty(value):
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value)
    return str(value)


class _Names:
    """Names of the records a page of plan rows refers to, each read once."""

    def __init__(self, rows: Sequence[Any]) -> None:
        site_ids: set[int] = set()
        user_ids: set[int] = set()
        asset_ids: set[int] = set()
        parent_refs: set[str] = set()
        self.integration_id = rows[0].run.integration_id if rows else None
        for row in rows:
            op = row.op or {}
            wanted = (op.get("data") or {}).get("set") or {}
            if isinstance(wanted.get("site_id"), int):
                site_ids.add(wanted["site_id"])
            changes = op.get("changes") or {}
            if row.entity == "assets" and op.get("target_id"):
                asset_ids.add(int(op["target_id"]))
            for side in changes.get("end_user") or []:
                if isinstance(side, int):
                    user_ids.add(side)
            parent = changes.get("parent") or []
            if len(parent) == 2:
                if isinstance(parent[0], int):
                    asset_ids.add(parent[0])
                if parent[1]:
                    parent_refs.add(str(parent[1]))
        self.assets = {a.pk: a for a in Asset.objects.filter(pk__in=asset_ids).select_related("site__customer")}
        site_ids |= {a.site_id for a in self.assets.values()}
        self.sites = {s.pk: s for s in Site.objects.filter(pk__in=site_ids).select_related("customer")}
        self.users = {u.pk: u for u in EndUser.objects.filter(pk__in=user_ids).select_related("customer")}
        self.parents: dict[str, str] = {}
        if parent_refs and self.integration_id is not None:
            refs = dict(ExternalRef.objects.filter(integration_id=self.integration_id, kind="asset",
                                                   external_id__in=parent_refs).values_list("external_id",
                                                                                            "object_id"))
            names = dict(Asset.objects.filter(pk__in=refs.values()).values_list("pk", "name"))
            self.parents = {ext: names.get(pk, ext) for ext, pk in refs.items()}
        self.labels = {d.key: d.label for d in FieldDefinition.objects.all()}
        customer_ids = {int((row.op.get("data") or {}).get("customer_id") or 0) for row in rows
                        if row.entity == "sites" and row.op}
        self.customers = dict(Customer.objects.filter(pk__in=customer_ids - {0}).values_list("pk", "name"))

    def site(self, site_id: Any, fallback: Any) -> str:
        site = self.sites.get(site_id) if isinstance(site_id, int) else None
        if site is not None:
            return f"{site.customer.name} / {site.name}"
        if isinstance(site_id, int) and site_id < 0 and fallback:
            return f"{fallback} (new site)"
        return _plain(fallback)

    def user(self, value: Any) -> str:
        user = self.users.get(value) if isinstance(value, int) else None
        if user is None:
            return _plain(value)
        return f"{user.name} ({user.email})" if user.email else user.name

    def label(self, key: str) -> str:
        if key in self.labels:
            return self.labels[key]
        return LABELS.get(key, key.replace("_", " ").capitalize())


def _lines(row: Any, names: _Names) -> list[tuple[str, str, str]]:
    op = row.op or {}
    changes: dict[str, list[Any]] = dict(op.get("changes") or {})
    wanted = (op.get("data") or {}).get("set") or {}
    asset = names.assets.get(op.get("target_id") or 0) if row.entity == "assets" else None
    if row.kind == "create":
        for key, value in (wanted.get("values") or {}).items():
            changes.setdefault(key, [None, value])
    lines = []
    for key, pair in changes.items():
        old, new = [*list(pair), None, None][:2]
        if key == "active":
            old_text = EMPTY if old is None else ("active" if old else "inactive")
            new_text = EMPTY if new is None else ("active" if new else "inactive")
        elif key == "end_user":
            old_text, new_text = names.user(old), names.user(new)
        elif key == "parent":
            parent = names.assets.get(old) if isinstance(old, int) else None
            old_text = parent.name if parent is not None else _plain(old)
            new_text = names.parents.get(str(new), f"RMM device {new}") if new else EMPTY
        elif key == "site" and wanted.get("site_id") is not None:
            old_site = asset.site_id if asset is not None else None
            old_text = names.site(old_site, old) if old_site is not None else _plain(old)
            new_text = names.site(wanted.get("site_id"), new)
        else:
            old_text, new_text = _plain(old), _plain(new)
        if old_text == new_text:
            continue  # '— → —' and unchanged values say nothing
        lines.append((names.label(key), old_text, new_text))
    return lines


def describe_rows(rows: Sequence[Any]) -> None:
    """Give each plan row `change_lines`: (field label, before, after) in words."""
    names = _Names(rows)
    for row in rows:
        row.change_lines = _lines(row, names)
        customer_id = int(((row.op or {}).get("data") or {}).get("customer_id") or 0)
        customer = names.customers.get(customer_id) if row.entity == "sites" else None
        row.record_label = f"{customer} / {row.label}" if customer else row.label
