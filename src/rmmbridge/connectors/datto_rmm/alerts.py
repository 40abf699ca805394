"""Datto RMM webhooks: the body template to paste into Datto and a lenient parser of what Datto posts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rmmbridge.connectors.errors import ConnectorError, WebhookTestDelivery
from rmmbridge.connectors.items import json_objects
from rmmbridge.connectors.records import AlertState, RemoteAlert

#: The alert-triggered body to paste into the monitor's webhook response (or Setup → Integrations → Global
#: Webhooks). Only variables that public Datto webhook templates use (see README.md); `state` marks the payload.
WEBHOOK_TEMPLATE: dict[str, str] = {
    "alertUID": "[alert_uid]",
    "alertMessage": "[alert_message]",
    "alertType": "[alert_type]",
    "alertPriority": "[alert_priority]",
    "deviceUID": "[device_uid]",
    "deviceHostname": "[device_hostname]",
    "deviceIP": "[device_ip]",
    "siteName": "[sitename]",
    "platform": "[platform]",
    "state": "open",
}
#: The alert-resolved body: the same with "state": "resolved".
RESOLVED_TEMPLATE: dict[str, str] = {**WEBHOOK_TEMPLATE, "state": "resolved"}

#: A variable Datto did not substitute: the whole value is still `[name]` (a test fire or a typo).
PLACEHOLDER = re.compile(r"^\s*\[[a-z_]+\]\s*$", re.IGNORECASE)
_RESOLVED_WORDS = {"1", "true", "yes", "resolved", "reset", "closed", "cleared"}

ID_KEYS = ("alertuid", "alertid", "uid", "id")
DEVICE_KEYS = ("deviceuid", "deviceid")
HOST_KEYS = ("devicehostname", "hostname", "devicename", "device")
MESSAGE_KEYS = ("alertmessage", "alertmessageen", "message", "alert", "diagnostics", "subject")
SEVERITY_KEYS = ("alertpriority", "priority", "severity", "alertcategory")
TYPE_KEYS = ("alerttype", "type", "alertcategory")


def template_json(resolved: bool = False) -> str:
    """The template as the alerting page and docs show it."""
    return json.dumps(RESOLVED_TEMPLATE if resolved else WEBHOOK_TEMPLATE, indent=2)


def _key(name: str) -> str:
    """`alertUID`, `alert_uid`, `Alert-UID` → `alertuid`: Datto bodies are user-written, spelled every way."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _flat(item: Mapping[str, Any]) -> dict[str, Any]:
    keyed: dict[str, Any] = {}
    info = item.get("alertSourceInfo")
    for source in (info if isinstance(info, Mapping) else {}, item):
        for name, value in source.items():
            if isinstance(name, str):
                keyed[_key(name)] = value
    return keyed


def _value(keyed: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = keyed.get(key)
        if value is None or isinstance(value, Mapping | list):
            continue
        text = str(value).strip()
        if text and not PLACEHOLDER.match(text):
            return text
    return ""


def unreplaced(item: Mapping[str, Any]) -> list[str]:
    """The values of a body that are still `[variable]` placeholders."""
    return [str(v).strip() for v in item.values() if isinstance(v, str) and PLACEHOLDER.match(v)]


def parse_webhook(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """One Datto webhook body (an object or a list of objects) → alerts; keys matched case-insensitively.

    A body whose alert id is still an unreplaced placeholder (Datto's "test" button, or a template pasted
    without a monitor) raises WebhookTestDelivery: acknowledged, recorded as a test, no ticket.
    """
    items = json_objects(body, template_from="the Alerting page", needs="'alertUID'")
    alerts: list[RemoteAlert] = []
    for item in items:
        keyed = _flat(item)
        external_id = _value(keyed, ID_KEYS)
        device = _value(keyed, DEVICE_KEYS)
        hostname = _value(keyed, HOST_KEYS)
        placeholders = unreplaced(item)
        if placeholders and not external_id:
            shown = ", ".join(dict.fromkeys(placeholders[:4]))
            raise WebhookTestDelivery(f"Datto RMM test delivery: {shown} arrived unreplaced, so no alert is named.")
        if not external_id and not (device or hostname):
            raise ConnectorError("The webhook names no alert ('alertUID') and no device ('deviceUID' or "
                                 "'deviceHostname'); paste the template from the Alerting page.")
        state_text = _value(keyed, ("state", "status", "event")).lower()
        resolved = state_text in _RESOLVED_WORDS or any(
            _value(keyed, (k,)).lower() in _RESOLVED_WORDS for k in ("resolved", "alertresolved", "resolvedalert"))
        alerts.append(RemoteAlert(
            external_id=external_id,
            device_external_id=device or None,
            message=_value(keyed, MESSAGE_KEYS),
            severity=_value(keyed, SEVERITY_KEYS),
            alert_type=_value(keyed, TYPE_KEYS),
            state=AlertState.RESOLVED if resolved else AlertState.OPEN,
            hostname=hostname or None,
            raw={k: v for k, v in item.items() if isinstance(k, str)},
        ))
    return alerts
