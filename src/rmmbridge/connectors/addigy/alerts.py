"""Addigy webhook intake: the AddigyAlert body → RemoteAlert, and the one-time validation challenge answer.

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
from rmmbridge.connectors.addigy.normalize import normalize_alert
from rmmbridge.connectors.errors import ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.records import RemoteAlert

_ALERT_KEYS = frozenset({"_id", "agentid", "name", "status", "fact", "fact_identifier", "level", "category"})


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
    """Parse one Addigy webhook body (an AddigyAlert object, or a list of them) into alerts.

    The validation challenge yields []. Raises ConnectorFatalError when the body is not JSON or not an alert,
    saying what was received and what was expected.
    """
    if validation_token(headers) is not None:
        return []
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConnectorFatalError("Addigy webhook body is not UTF-8 text; expected a JSON alert object.") from None
    try:
        payload: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConnectorFatalError(
            f"Addigy webhook body is not JSON ({exc.msg} at position {exc.pos}); expected an alert object "
            "with _id, agentid, name and status."
        ) from None
    items = payload if isinstance(payload, list) else [payload]
    alerts: list[RemoteAlert] = []
    for raw in items:
        if not isinstance(raw, Mapping) or not (_ALERT_KEYS & set(raw)):
            raise ConnectorFatalError(
                f"Addigy webhook item {str(raw)[:80]!r} is not an alert; expected an object with _id, agentid, "
                "name and status."
            )
        if not raw.get("_id") and not raw.get("agentid"):
            raise ConnectorFatalError("Addigy webhook alert names neither an alert (_id) nor a device (agentid).")
        try:
            alerts.append(normalize_alert(raw))
        except SkippableRecordError as exc:
            raise ConnectorFatalError(f"{exc.message}. Expected an Addigy alert object.") from None
    return alerts
