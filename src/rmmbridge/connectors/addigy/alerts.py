"""Addigy webhook intake: alert and system-event bodies → RemoteAlert, and the one-time validation challenge answer.

Addigy POSTs one alert object per request (the `AddigyAlert` Halo's `POST /api/Notify/Addigy` takes: `_id`,
`agentid`, `orgid`, `name`, `category`, `level`, `status`, `fact`, `value`, `created_on`, `resolveddate`, …).
`status` "Resolved" closes the alert; "Unattended" and "Acknowledged" are open. When a webhook is created or saved,
Addigy first sends a challenge carrying `X-Addigy-Webhook-Validation-Token`; the receiver must answer 200 with the
same token (as that header or in the body) — `challenge_response` builds that answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rmmbridge.connectors.addigy.const import VALIDATION_HEADER
from rmmbridge.connectors.addigy.normalize import normalize_alert, to_datetime
from rmmbridge.connectors.errors import ConnectorFatalError, IgnorableEventError, SkippableRecordError
from rmmbridge.connectors.items import webhook_items
from rmmbridge.connectors.records import AlertState, RemoteAlert

_ALERT_KEYS = frozenset({"_id", "id", "agentid", "agent_id", "name", "status", "fact", "fact_identifier", "level",
                         "category"})
#: Keys of an Addigy system event (its audit log, which event webhooks fire on): `action {name, details}`,
#: `sender` and `receiver` `{identifier, name, …}`, `level`, `result {status}`, `date`.
_EVENT_KEYS = frozenset({"sender", "receiver", "result"})


def is_system_event(raw: Any) -> bool:
    """True for a system-event body (an `action` object beside a sender, receiver or result)."""
    return isinstance(raw, Mapping) and isinstance(raw.get("action"), Mapping) and bool(_EVENT_KEYS & set(raw))


def _actor(raw: Any) -> Mapping[str, Any]:
    return raw if isinstance(raw, Mapping) else {}


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ("" if value is None else str(value))


def system_event_alert(raw: Mapping[str, Any]) -> RemoteAlert:
    """A system event about an alert → RemoteAlert; any other event raises IgnorableEventError with the reason.

    An event is an alert when its action names one ("Alert triggered", "alert resolved" …) or carries an alert id;
    the device is the actor that is a device (`type` device/agent), else the receiver. A resolved result or an
    action naming a resolution closes it. UNVERIFIED: Addigy documents the event keys, not the alert events' wording.
    """
    action = _actor(raw.get("action"))
    name = _text(action.get("name"))
    details = action.get("details")
    result = _actor(raw.get("result"))
    alert_id = _text(raw.get("alert_id") or action.get("alert_id") or (details.get("alert_id")
                     if isinstance(details, Mapping) else ""))
    if "alert" not in name.lower() and not alert_id:
        level = _text(raw.get("level")) or "info"
        outcome = _text(result.get("status")) or "no result"
        raise IgnorableEventError(
            f"Addigy system event '{name or 'unnamed'}' ({level}, {outcome}) is not an alert; recorded, no ticket."
        )
    sender, receiver = _actor(raw.get("sender")), _actor(raw.get("receiver"))
    device = next((a for a in (receiver, sender) if "device" in _text(a.get("type")).lower()
                   or "agent" in _text(a.get("type")).lower()), receiver or sender)
    device_id = _text(device.get("identifier") or device.get("agentid") or device.get("id")) or None
    text = details if isinstance(details, str) else _text(action.get("message")) or name
    closed = "resolv" in name.lower() or _text(result.get("status")).lower() in ("resolved", "cleared")
    return RemoteAlert(
        external_id=alert_id or _text(raw.get("id")),
        device_external_id=device_id,
        message=text or "Addigy alert",
        severity=_text(raw.get("level")),
        alert_type=name,
        state=AlertState.RESOLVED if closed else AlertState.OPEN,
        raised_at=to_datetime(raw.get("date")),
        hostname=_text(device.get("name")) or None,
        raw={k: v for k, v in raw.items() if isinstance(k, str)},
    )


def validation_token(headers: Mapping[str, str] | None) -> str | None:
    """The challenge token when this request is Addigy's webhook verification challenge, else None."""
    for key, value in (headers or {}).items():
        if key.lower() == VALIDATION_HEADER.lower() and value.strip():
            return value.strip()
    return None


def challenge_response(headers: Mapping[str, str] | None) -> tuple[dict[str, str], bytes] | None:
    """(response headers, JSON body) echoing the validation token with a 200, or None for ordinary requests."""
    token = validation_token(headers)
    if token is None:
        return None
    body = json.dumps({VALIDATION_HEADER: token}).encode()
    return {VALIDATION_HEADER: token, "Content-Type": "application/json"}, body


def parse_webhook(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """Parse one Addigy webhook body (an AddigyAlert object, a system event, or a list of them) into alerts.

    The validation challenge yields []. A system event that is not about an alert raises IgnorableEventError (the
    event is recorded as ignored with the reason). Raises ConnectorFatalError when the body is not JSON or not an
    alert, saying what was received and what was expected.
    """
    if validation_token(headers) is not None:
        return []
    items = webhook_items(body, vendor="Addigy", expected="an alert object with _id, agentid, name and status")
    alerts: list[RemoteAlert] = []
    ignored: list[str] = []
    for raw in items:
        if is_system_event(raw):
            try:
                alerts.append(system_event_alert(raw))
            except IgnorableEventError as exc:
                ignored.append(exc.message)
            continue
        if not isinstance(raw, Mapping) or not (_ALERT_KEYS & set(raw)):
            raise ConnectorFatalError(
                f"Addigy webhook item {str(raw)[:80]!r} is not an alert; expected an object with _id, agentid, "
                "name and status."
            )
        if not (raw.get("_id") or raw.get("id")) and not (raw.get("agentid") or raw.get("agent_id")):
            raise ConnectorFatalError("Addigy webhook alert names neither an alert (_id) nor a device (agentid).")
        try:
            alerts.append(normalize_alert(raw))
        except SkippableRecordError as exc:
            raise ConnectorFatalError(f"{exc.message}. Expected an Addigy alert object.") from None
    if ignored and not alerts:
        raise IgnorableEventError(" ".join(ignored[:3]) + (f" (+{len(ignored) - 3} more)" if len(ignored) > 3 else ""))
    return alerts
