"""Poll an integration's open and recently resolved alerts: the backstop for missed triggers and resolves."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from rmmbridge.alerts.facts.poll import poll_payload
from rmmbridge.alerts.models import AlertEvent, AlertingConfig, Channel, EventStatus
from rmmbridge.alerts.outcome import Outcome
from rmmbridge.alerts.processing import process_event, store_event
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.errors import ConnectorAuthError, ConnectorError, ConnectorRetryableError
from rmmbridge.connectors.records import AlertState as RemoteState
from rmmbridge.integrations.models import Integration


@dataclass
class PollResult:
    """What one poll of one integration did."""

    integration_id: int
    trigger: str
    ok: bool
    message: str
    open_alerts: int = 0
    resolved_alerts: int = 0
    opened: int = 0
    noted: int = 0
    closed: int = 0
    ignored: int = 0
    rejected: int = 0
    event_id: int | None = None
    ticket_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


#: Resolved alerts are read back to the previous stored poll minus this margin (clock skew, slow vendor lists).
RESOLVED_MARGIN = timedelta(minutes=15)


def resolved_since(integration: Integration, lookback: timedelta) -> datetime:
    """Where the resolved-alert poll starts: the previous stored poll minus a margin, never before the lookback.

    Only polls that fetched their alerts are stored, so a failed poll does not narrow the next one's window.
    """
    now = utcnow()
    since = now - lookback
    previous = (AlertEvent.objects.filter(integration=integration, channel=Channel.POLL)
                .order_by("-received_at").values_list("received_at", flat=True).first())
    if previous is not None:
        since = max(since, previous - RESOLVED_MARGIN)
    return since


def poll_alerts(integration_id: int, *, trigger: str = "cli", raise_connector_errors: bool = False) -> PollResult:
    """Fetch open + recently resolved alerts, store them raw as one poll event, and process them.

    A connector failure is recorded on the alerting setup and returned as a failed result; with
    `raise_connector_errors` (the integrator) authentication and retryable errors are raised after that, so the
    integration moves to "needs re-authentication" or the poll is retried with backoff.
    """
    from rmmbridge.integrations.connect import connector_for

    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return PollResult(integration_id, trigger, False, f"No integration with id {integration_id}.")
    config = AlertingConfig.objects.filter(integration=integration).first()
    if config is None or not config.enabled:
        return PollResult(integration_id, trigger, False,
                          f"Alerting is off for {integration.name}; switch it on in the integration's Alerting setup.")
    since = resolved_since(integration, timedelta(hours=config.resolved_lookback_hours or 24))
    try:
        with connector_for(integration) as connector:
            if not connector.supports(Capability.ALERTS_POLL):
                return PollResult(integration_id, trigger, False,
                                  f"{connector.name} cannot list alerts through its API; use e-mail or webhooks.")
            open_alerts = list(connector.iter_alerts(RemoteState.OPEN))
            # With a malformed alert skipped, the open list is not complete: nothing is closed for being absent.
            complete = connector.skipped_records == 0
            resolved = list(connector.iter_alerts(RemoteState.RESOLVED, since=since))
    except ConnectorError as exc:
        message = f"Polling {integration.name} failed: {exc.message}"
        AlertingConfig.objects.filter(pk=config.pk).update(last_poll_at=utcnow(), last_poll_result=message)
        if raise_connector_errors and isinstance(exc, ConnectorAuthError | ConnectorRetryableError):
            raise
        return PollResult(integration_id, trigger, False, message)
    event = store_event(Channel.POLL, poll_payload(trigger, complete, open_alerts, resolved), integration=integration,
                        summary=f"Poll: {len(open_alerts)} open, {len(resolved)} resolved")
    outcome = process_event(event)
    result = _result(integration_id, trigger, outcome, len(open_alerts), len(resolved))
    AlertingConfig.objects.filter(pk=config.pk).update(last_poll_at=utcnow(), last_poll_result=result.message)
    return result


def _result(integration_id: int, trigger: str, outcome: Outcome, n_open: int, n_resolved: int) -> PollResult:
    result = PollResult(integration_id, trigger, outcome.status != EventStatus.ERROR, "", n_open, n_resolved,
                        event_id=outcome.event_id)
    for item in outcome.results:
        if item.action == "open_ticket":
            result.opened += 1
        elif item.action == "append_note":
            result.noted += 1
        elif item.action == "close":
            result.closed += 1
        elif item.action == "rejected":
            result.rejected += 1
        else:
            result.ignored += 1
        if item.ticket_id and item.action != "ignore":
            result.ticket_ids.append(item.ticket_id)
    summary = (f"{n_open} open, {n_resolved} resolved in the RMM: {result.opened} opened, {result.noted} noted, "
               f"{result.closed} closed, {result.ignored} unchanged, {result.rejected} without a ticket")
    result.message = summary if result.ok else f"{summary}. Error: {outcome.reason}"
    return result
