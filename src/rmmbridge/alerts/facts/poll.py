"""The stored poll (open and recently resolved alerts as JSON) and its facts: one format, written and read here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.facts.base import AlertFacts, RejectEvent
from rmmbridge.alerts.models import AlertEvent, AlertState, EventStatus
from rmmbridge.connectors.records import RemoteAlert
from rmmbridge.integrations.models import Integration


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _alert_json(alert: RemoteAlert) -> dict[str, Any]:
    return {
        "external_id": alert.external_id,
        "device_external_id": alert.device_external_id,
        "message": alert.message,
        "severity": alert.severity,
        "alert_type": alert.alert_type,
        "state": alert.state.value,
        "raised_at": _dt(alert.raised_at),
        "resolved_at": _dt(alert.resolved_at),
        "hostname": alert.hostname,
    }


def poll_payload(trigger: str, complete: bool, open_alerts: Sequence[RemoteAlert],
                 resolved: Sequence[RemoteAlert]) -> bytes:
    """The raw body of a poll event (`complete`: the open list skipped no malformed alert)."""
    payload = {
        "trigger": trigger,
        "complete": complete,
        "open": [_alert_json(a) for a in open_alerts],
        "resolved": [_alert_json(a) for a in resolved],
    }
    return json.dumps(payload).encode()


def _facts(item: dict[str, Any], integration: Integration, kind: EventKind, *, report_only: bool) -> AlertFacts:
    external_id = str(item.get("external_id") or "")
    message = str(item.get("message") or "")
    hostname = str(item.get("hostname") or "")
    return AlertFacts(
        kind=kind,
        key=external_id,
        integration=integration,
        external_id=external_id,
        occurrence_id=external_id,
        device_external_id=str(item.get("device_external_id") or ""),
        hostname=hostname,
        condition=str(item.get("alert_type") or ""),
        message=message,
        summary=f"{hostname}: {message}" if hostname else message,
        severity=str(item.get("severity") or ""),
        report_only=report_only,
    )


def poll_facts(event: AlertEvent) -> list[AlertFacts]:
    """Facts of a stored poll: each open alert (a status report), each resolved one, and tracked alerts missing
    from a complete open list (resolved while we were not looking)."""
    integration = event.integration
    if integration is None:
        raise RejectEvent(EventStatus.ERROR, "A poll event needs its integration.")
    try:
        payload = json.loads(bytes(event.raw))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RejectEvent(EventStatus.ERROR, f"The stored poll is not JSON: {exc}") from exc
    facts: list[AlertFacts] = []
    open_ids: set[str] = set()
    for item in payload.get("open", []):
        if not item.get("external_id"):
            continue
        open_ids.add(str(item["external_id"]))
        facts.append(_facts(item, integration, EventKind.TRIGGER, report_only=True))
    resolved_ids: set[str] = set()
    for item in payload.get("resolved", []):
        ext = str(item.get("external_id") or "")
        if not ext or ext in open_ids:
            continue
        resolved_ids.add(ext)
        facts.append(_facts(item, integration, EventKind.RESOLVE, report_only=False))
    if payload.get("complete"):
        tracked = AlertState.objects.filter(
            integration=integration, resolved_at__isnull=True, ticket__isnull=False
        ).exclude(external_id="").values_list("key", "external_id", "hostname")
        for key, external_id, hostname in tracked:
            if external_id in open_ids or external_id in resolved_ids:
                continue
            facts.append(AlertFacts(
                kind=EventKind.RESOLVE, key=key, integration=integration, external_id=external_id,
                hostname=hostname, message="no longer open in the RMM",
            ))
    return facts
