"""Writes to device buttons (validated, audited) and the vendor defaults a new integration gets."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Max

from rmmbridge.buttons.defaults import DEFAULT_BUTTONS
from rmmbridge.buttons.links import known_placeholders
from rmmbridge.buttons.models import DeviceButton
from rmmbridge.buttons.render import TemplateError, check_template
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, record_audit


def _clean(integration: Integration, label: str, url_template: str) -> tuple[str, str]:
    errors: list[str] = []
    name = " ".join((label or "").split())
    if not name:
        errors.append("Enter a label for the button, e.g. Device in Automate.")
    elif len(name) > 100:
        errors.append(f"The label is longer than 100 characters ({len(name)}); shorten it.")
    template = ""
    try:
        template = check_template(url_template, known_placeholders(integration))
    except TemplateError as exc:
        errors.append(str(exc))
    if errors:
        raise ValidationError(errors)
    return name, template


def do_add_button(actor: Actor, integration: Integration, label: str, url_template: str) -> DeviceButton:
    """Add a button at the end of the integration's list."""
    name, template = _clean(integration, label, url_template)
    last = DeviceButton.objects.filter(integration=integration).aggregate(m=Max("position"))["m"]
    button = DeviceButton.objects.create(integration=integration, label=name, url_template=template,
                                         position=(last or 0) + 1)
    record_audit(actor, button, "create", {"label": [None, name], "url_template": [None, template]})
    return button


def do_update_button(actor: Actor, button: DeviceButton, label: str, url_template: str) -> dict[str, list[Any]]:
    """Change a button's label and template."""
    name, template = _clean(button.integration, label, url_template)
    diff: dict[str, list[Any]] = {}
    if name != button.label:
        diff["label"] = [button.label, name]
    if template != button.url_template:
        diff["url_template"] = [button.url_template, template]
    if diff:
        button.label, button.url_template = name, template
        button.save(update_fields=["label", "url_template"])
        record_audit(actor, button, "update", diff)
    return diff


def do_delete_button(actor: Actor, button: DeviceButton) -> None:
    """Remove a button (a default one too: it is not added back)."""
    record_audit(actor, button, "delete", {"label": [button.label, None], "url_template": [button.url_template, None]})
    button.delete()


def do_add_default_buttons(actor: Actor, integration: Integration) -> list[DeviceButton]:
    """Add the vendor's default buttons that the integration does not have yet (same template)."""
    have = set(DeviceButton.objects.filter(integration=integration).values_list("url_template", flat=True))
    added = []
    for label, template in DEFAULT_BUTTONS.get(integration.vendor, []):
        if template not in have:
            added.append(do_add_button(actor, integration, label, template))
    return added


def add_defaults_on_create(sender: Any, instance: Integration, created: bool = False, raw: bool = False,
                           **kwargs: Any) -> None:
    """post_save receiver: a new integration starts with its vendor's default buttons."""
    if created and not raw:
        do_add_default_buttons(Actor.system("defaults"), instance)
