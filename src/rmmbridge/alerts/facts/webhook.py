"""Facts of a stored webhook event: its body checked, read by the integration's vendor parser."""

from __future__ import annotations

from rmmbridge.alerts.decide import EventKind
from rmmbridge.alerts.facts.base import AlertFacts, RejectEvent, condition_key
from rmmbridge.alerts.intake.webhooks import (
    MAX_ITEMS_PER_REQUEST,
    TEST_DELIVERY,
    BodyRefused,
    check_body,
    occurred_at,
    parser_for,
)
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.connectors.errors import ConnectorError, IgnorableEventError, WebhookTestDelivery
from rmmbridge.connectors.records import AlertState as RemoteState


def webhook_facts(event: AlertEvent) -> list[AlertFacts]:
    """Facts of a stored webhook event, by its integration's vendor parser."""
    integration = event.integration
    if integration is None:
        raise RejectEvent(EventStatus.ERROR, "A webhook event needs its integration.")
    headers = {str(k): str(v) for k, v in (event.headers or {}).items()}
    try:
        body, note = check_body(bytes(event.raw))
    except BodyRefused as exc:
        raise RejectEvent(EventStatus.REJECTED, f"Webhook refused: {exc}.", http_status=exc.http_status) from None
    event.intake_notes = note
    try:
        alerts = parser_for(integration.vendor)(body, headers)
    except IgnorableEventError as exc:  # understood, but not an alert (e.g. an Addigy system event)
        raise RejectEvent(EventStatus.PROCESSED, f"Ignored: {exc.message}") from exc
    except WebhookTestDelivery as exc:
        event.summary = "Test delivery"
        raise RejectEvent(EventStatus.PROCESSED, f"{TEST_DELIVERY}: {exc.message} No ticket was made.") from exc
    except ConnectorError as exc:
        raise RejectEvent(EventStatus.REJECTED, f"Webhook not understood: {exc.message}", http_status=400) from exc
    except RecursionError:
        raise RejectEvent(EventStatus.REJECTED, "Webhook refused: nested too deeply.", http_status=400) from None
    if len(alerts) > MAX_ITEMS_PER_REQUEST:
        raise RejectEvent(EventStatus.REJECTED, f"Webhook refused: {len(alerts)} alerts in one request; send at "
                          f"most {MAX_ITEMS_PER_REQUEST} per request.", http_status=413)
    facts: list[AlertFacts] = []
    for index, alert in enumerate(alerts):
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
            occurred_at=alert.resolved_at or alert.raised_at or occurred_at(raw),
        ))
    if facts:
        event.summary = facts[0].summary[:255]
    return facts
