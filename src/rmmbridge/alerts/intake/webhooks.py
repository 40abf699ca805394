"""Webhook intake: authenticate (token + shared secret or HMAC, constant time), store raw, parse per vendor."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.models import AlertEvent, AlertingConfig, EventStatus, WebhookAuth
from rmmbridge.alerts.processing import AlertFacts, RejectEvent
from rmmbridge.common.secrets import SecretDecryptError
from rmmbridge.connectors.datto_rmm.alerts import WEBHOOK_TEMPLATE
from rmmbridge.connectors.errors import ConnectorError, WebhookTestDelivery
from rmmbridge.connectors.records import AlertState as RemoteState
from rmmbridge.connectors.records import RemoteAlert

SECRET_HEADERS = ("x-webhook-secret", "x-rmmbridge-secret")
SIGNATURE_HEADERS = ("x-signature-256", "x-webhook-signature", "x-hub-signature-256", "x-signature")
MAX_BODY_BYTES = 1_000_000
#: How a test fire's event reason starts (the endpoint answers it 200 instead of 202).
TEST_DELIVERY = "Test delivery"

#: The JSON to paste into Datto RMM's webhook body (alert triggered; "state": "resolved" for the resolved
#: payload), shown on the Alerting page and in docs/alerting.md; Datto's own parser is connectors.datto_rmm.alerts.
DATTO_TEMPLATE = WEBHOOK_TEMPLATE


def authenticate(config: AlertingConfig, body: bytes, headers: Mapping[str, str]) -> str | None:
    """None when the request is authentic, else why not (never says which part of a secret was wrong)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if config.webhook_auth == WebhookAuth.TOKEN_ONLY:
        return None
    try:
        secret = config.webhook_secret.encode()
    except SecretDecryptError:
        return "the stored webhook secret cannot be decrypted (regenerate it on the Alerting page)"
    if not secret:
        return "no webhook secret is set (regenerate it on the Alerting page)"
    if config.webhook_auth == WebhookAuth.SHARED_SECRET:
        given = next((lowered[h] for h in SECRET_HEADERS if h in lowered), None)
        if given is None and lowered.get("authorization", "").lower().startswith("bearer "):
            given = lowered["authorization"][7:]
        if given is None:
            return "missing X-Webhook-Secret header"
        if not hmac.compare_digest(given.strip().encode(), secret):
            return "wrong shared secret"
        return None
    given = next((lowered[h] for h in SIGNATURE_HEADERS if h in lowered), None)
    if given is None:
        return "missing X-Signature-256 header"
    value = given.strip()
    if value.lower().startswith("sha256="):
        value = value[7:]
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(value.lower().encode(), expected.encode()):
        return "bad signature"
    return None


def sign(secret: str, body: bytes) -> str:
    """The X-Signature-256 header value for `body` (for senders and tests)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _first(data: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "resolved", "reset", "closed"}


def parse_generic(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """Parse the documented JSON template (Datto RMM and any vendor without its own parser): one object or a list."""
    try:
        payload: Any = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConnectorError(f"The webhook body is not JSON ({exc}); paste the template from docs/alerting.md.") \
            from None
    items = payload if isinstance(payload, list) else [payload]
    alerts: list[RemoteAlert] = []
    for item in items:
        if not isinstance(item, dict):
            raise ConnectorError("Each webhook item must be a JSON object with at least 'alertUid'.")
        info = item.get("alertSourceInfo")
        source: dict[str, Any] = info if isinstance(info, dict) else {}
        external_id = _first(item, "alertUid", "alert_uid", "alertuid", "alertId", "alert_id", "uid", "id")
        device = _first(item, "deviceUid", "device_uid", "deviceId", "device_id") or _first(source, "deviceUid")
        hostname = _first(item, "hostname", "device_hostname", "deviceName", "device") or _first(source, "deviceName")
        state_text = _first(item, "state", "status", "event")
        resolved = _truthy(item.get("resolved", False)) or _truthy(item.get("alert_resolved", False)) \
            or state_text.lower() in {"resolved", "reset", "closed"}
        message = _first(item, "message", "alert_message", "alertMessage", "diagnostics", "alert", "subject")
        if not external_id and not (device or hostname):
            raise ConnectorError("The webhook names no alert ('alertUid') and no device ('deviceUid' or 'hostname').")
        alerts.append(RemoteAlert(
            external_id=external_id,
            device_external_id=device or None,
            message=message,
            severity=_first(item, "priority", "severity", "alert_priority", "alert_category"),
            alert_type=_first(item, "alertType", "alert_type", "type", "alert_category"),
            state=RemoteState.RESOLVED if resolved else RemoteState.OPEN,
            hostname=hostname or None,
            raw={k: v for k, v in item.items() if isinstance(k, str)},
        ))
    return alerts


Parser = Callable[[bytes, Mapping[str, str]], list[RemoteAlert]]


def parser_for(vendor: str) -> Parser:
    """The vendor's own `connectors.<slug>.alerts.parse_webhook`, else the documented generic template."""
    from rmmbridge.connectors.registry import manifest

    vendor_manifest = manifest(vendor)
    found = vendor_manifest.alert_hook("parse_webhook") if vendor_manifest is not None else None
    return found if found is not None else parse_generic


def webhook_facts(event: AlertEvent) -> list[AlertFacts]:
    """Facts of a stored webhook event, by its integration's vendor parser."""
    integration = event.integration
    if integration is None:
        raise RejectEvent(EventStatus.ERROR, "A webhook event needs its integration.")
    headers = {str(k): str(v) for k, v in (event.headers or {}).items()}
    try:
        alerts = parser_for(integration.vendor)(bytes(event.raw), headers)
    except WebhookTestDelivery as exc:
        event.summary = "Test delivery"
        raise RejectEvent(EventStatus.PROCESSED, f"{TEST_DELIVERY}: {exc.message} No ticket was made.") from exc
    except ConnectorError as exc:
        raise RejectEvent(EventStatus.REJECTED, f"Webhook not understood: {exc.message}") from exc
    facts: list[AlertFacts] = []
    for index, alert in enumerate(alerts):
        from rmmbridge.alerts.processing import condition_key

        key = alert.external_id or condition_key(alert.device_external_id or alert.hostname or "",
                                                 alert.alert_type or alert.message)
        raw = alert.raw or {}
        activity = str(raw.get("id") or raw.get("activityId") or "")
        occurrence = f"{activity}" if activity else f"webhook-{event.pk}-{index}"
        hostname = alert.hostname or ""
        facts.append(AlertFacts(
            kind=EventKind.RESOLVE if alert.state == RemoteState.RESOLVED else EventKind.TRIGGER,
            key=key,
            integration=integration,
            external_id=alert.external_id,
            occurrence_id=occurrence,
            device_external_id=alert.device_external_id or "",
            hostname=hostname,
            ip_address=str(raw.get("ipAddress") or raw.get("device_ip") or ""),
            condition=alert.alert_type,
            message=alert.message,
            summary=f"{hostname}: {alert.message}" if hostname else alert.message,
            severity=alert.severity,
        ))
    if facts:
        event.summary = facts[0].summary[:255]
    return facts
