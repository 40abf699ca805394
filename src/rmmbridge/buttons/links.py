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


def placeholder_values(integration: Integration, asset: Asset, external_id: str) -> dict[str, str]:
    """Every placeholder value for `asset` as a device of `integration`."""
    values: dict[str, str] = {key: _text(value) for key, value in (asset.values or {}).items()}
    for source, target in FieldMapping.objects.filter(integration=integration).values_list("source", "target"):
        if target == "name":
            values.setdefault(source, asset.name)
        elif target in (asset.values or {}):
            values.setdefault(source, _text(asset.values[target]))
    values.update({
        "rmm_id": external_id,
        "hostname": _text((asset.values or {}).get("hostname")) or asset.name,
        "serial": _text((asset.values or {}).get("serial_number")),
        "base_url": web_base_url(integration.vendor, integration.get_credentials()),
    })
    return values


def device_links(asset: Asset) -> list[DeviceLink]:
    """The buttons of every integration the asset is linked to, in integration then button order."""
    refs = (ExternalRef.objects.filter(kind=RefKind.ASSET, object_id=asset.pk)
            .select_related("integration").order_by("integration__name", "id"))
    links: list[DeviceLink] = []
    for ref in refs:
        buttons: Iterable[DeviceButton] = DeviceButton.objects.filter(integration_id=ref.integration_id)
        values: dict[str, str] | None = None
        for button in buttons:
            if values is None:
                values = placeholder_values(ref.integration, asset, ref.external_id)
            url = render_url(button.url_template, values)
            missing = tuple(p for p in placeholders(button.url_template) if not values.get(p))
            links.append(DeviceLink(ref.integration.name, button.label, url, missing))
    return links
