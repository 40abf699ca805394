"""The buttons of a device: placeholder values from the asset, its external ref and the integration's mappings."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rmmbridge.buttons.defaults import DEFAULT_BUTTONS, web_base_url
from rmmbridge.buttons.models import DeviceButton
from rmmbridge.buttons.render import placeholders, render_url
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.servicedesk.models import Asset, FieldDefinition
from rmmbridge.sync.models import FieldMapping


@dataclass(frozen=True)
class DeviceLink:
    """One rendered button: which integration, its label and the URL (None when it cannot be built)."""

    integration: str
    label: str
    url: str | None
    missing: tuple[str, ...] = ()


def known_placeholders(integration: Integration) -> set[str]:
    """Names a template of this integration may use besides the built-ins: field keys and mapped RMM fields."""
    names = {d.key for d in FieldDefinition.objects.all()}
    names |= set(FieldMapping.objects.filter(integration=integration).values_list("source", flat=True))
    names |= {p for _, t in DEFAULT_BUTTONS.get(integration.vendor, []) for p in placeholders(t)}
    return names


def _text(value: object) -> str:
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)


def placeholder_values(integration: Integration, asset: Asset, external_id: str,
                       mappings: Iterable[tuple[str, str]] | None = None) -> dict[str, str]:
    """Every placeholder value for `asset` as a device of `integration`; `mappings` are its (source, target)
    field mappings (read from the database when not given)."""
    stored = asset.values or {}
    values: dict[str, str] = {key: _text(value) for key, value in stored.items()}
    if mappings is None:
        mappings = FieldMapping.objects.filter(integration=integration).values_list("source", "target")
    for source, target in mappings:
        if target == "name":
            values.setdefault(source, asset.name)
        elif target in stored:
            values.setdefault(source, _text(stored[target]))
    values.update({
        "rmm_id": external_id,
        "hostname": _text(stored.get("hostname")) or asset.name,
        "serial": _text(stored.get("serial_number")),
        "base_url": web_base_url(integration.vendor, integration.get_credentials()),
    })
    return values


def device_links(asset: Asset, refs: Iterable[ExternalRef] | None = None) -> list[DeviceLink]:
    """The buttons of every integration the asset is linked to, in integration then button order.

    `refs` are the asset's external refs with their integration, when the caller has them already. At most three
    queries: refs, buttons, and field mappings (only when a template names a field the asset does not hold).
    """
    if refs is None:
        refs = ExternalRef.objects.filter(kind=RefKind.ASSET, object_id=asset.pk).select_related("integration")
    linked = sorted((r for r in refs if r.kind == RefKind.ASSET), key=lambda r: (r.integration.name, r.pk))
    if not linked:
        return []
    buttons: dict[int, list[DeviceButton]] = {}
    for button in DeviceButton.objects.filter(integration_id__in={r.integration_id for r in linked}):
        buttons.setdefault(button.integration_id, []).append(button)
    builtin_or_stored = {"rmm_id", "hostname", "serial", "base_url", *(asset.values or {})}
    wanted = {p for rows in buttons.values() for b in rows for p in placeholders(b.url_template)}
    mappings: dict[int, list[tuple[str, str]]] = {r.integration_id: [] for r in linked}
    if wanted - builtin_or_stored:
        for integration_id, source, target in FieldMapping.objects.filter(
                integration_id__in=list(mappings)).values_list("integration_id", "source", "target"):
            mappings[integration_id].append((source, target))
    links: list[DeviceLink] = []
    for ref in linked:
        rows = buttons.get(ref.integration_id, [])
        if not rows:
            continue
        values = placeholder_values(ref.integration, asset, ref.external_id, mappings[ref.integration_id])
        for button in rows:
            url = render_url(button.url_template, values)
            missing = tuple(p for p in placeholders(button.url_template) if not values.get(p))
            links.append(DeviceLink(ref.integration.name, button.label, url, missing))
    return links
