"""Durable resolve outbox: a ticket closed here resolves its alert in the RMM, retried with backoff until sent."""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from typing import Any

from django.db import transaction

from rmmbridge.alerts.models import AlertState, OutboxStatus, ResolveOutbox
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.registry import REGISTRY
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import AuditSource
from rmmbridge.tickets.models import Ticket

log = logging.getLogger(__name__)

#: How long a claimed row is hidden from other workers while its call is in flight.
CLAIM_SECONDS = 120
MAX_BACKOFF_SECONDS = 3600


def backoff_base() -> float:
    """Seconds before the first retry (RMMBRIDGE_OUTBOX_BACKOFF_SECONDS, default 30); doubles per attempt."""
    raw = os.environ.get("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "").strip()
    try:
        return max(float(raw), 0.0) if raw else 30.0
    except ValueError:
        return 30.0


def backoff_delay(attempts: int) -> float:
    """Exponential backoff after `attempts` failed calls, capped at an hour."""
    return float(min(backoff_base() * (2 ** max(attempts - 1, 0)), MAX_BACKOFF_SECONDS))


def can_resolve(integration: Integration) -> bool:
    """Whether the vendor's API can resolve alerts (Capability.ALERT_RESOLVE); an unregistered vendor is tried
    (and its error shown on the outbox row) rather than silently skipped."""
    cls = REGISTRY.get(integration.vendor)
    return cls is None or Capability.ALERT_RESOLVE in cls.capabilities


def on_ticket_closed(sender: Any, ticket: Ticket, actor: Any = None, **kwargs: Any) -> None:
    """Receiver of tickets.signals.ticket_closed, inside the closing transaction.

    Closes coming from the RMM itself (the alert pipeline, whose actor's source is ALERT) write nothing; a close
    by anyone else marks the alert as closed here and queues its resolve, atomically with the close.
    """
    if getattr(actor, "source", None) == AuditSource.ALERT:
        return
    now = utcnow()
    states = list(AlertState.objects.select_for_update().filter(ticket=ticket, closed_here=False,
                                                                resolved_at__isnull=True))
    for state in states:
        state.closed_here = True
        state.resolved_at = now
        state.save(update_fields=["closed_here", "resolved_at"])
        if state.integration_id is None:
            continue
        integration = state.integration
        assert integration is not None
        supported = can_resolve(integration)
        if supported and not state.external_id:
            continue  # nothing to name in the RMM's API (an alert keyed by device + condition)
        ResolveOutbox.objects.create(
            integration=integration,
            ticket=ticket,
            # Unsupported rows are shown, never sent: an alert without an RMM id is named by its visible key.
            external_id=(state.external_id or state.key)[:255],
            status=OutboxStatus.PENDING if supported else OutboxStatus.UNSUPPORTED,
            next_attempt_at=now,
            created_at=now,
            last_error="" if supported else f"{integration.vendor} cannot resolve alerts through its API; "
                                             "resolve the alert in the RMM.",
        )


def _claim(row_id: int, seen_next: Any) -> bool:
    claimed = ResolveOutbox.objects.filter(
        pk=row_id, status=OutboxStatus.PENDING, next_attempt_at=seen_next
    ).update(next_attempt_at=utcnow() + timedelta(seconds=CLAIM_SECONDS))
    return claimed == 1


#: Integrations whose resolves are sent at the same time (each integration's own rows go one after another).
DELIVERY_WORKERS = 8


def deliver_due(limit: int = 100) -> int:
    """Send due resolves to the RMM; returns how many were delivered. Failures are retried with backoff.

    Each integration's rows go through their own worker (in order, one connector), so one slow or hanging
    vendor delays only its own resolves, never another vendor's.
    """
    now = utcnow()
    due = list(
        ResolveOutbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .select_related("integration")
        .order_by("next_attempt_at", "id")[:limit]
    )
    groups: dict[int, list[ResolveOutbox]] = {}
    for row in due:
        groups.setdefault(int(row.integration_id), []).append(row)
    if len(groups) <= 1:
        return sum(_deliver_group(rows) for rows in groups.values())
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(DELIVERY_WORKERS, len(groups)),
                            thread_name_prefix="outbox") as pool:
        return sum(pool.map(_deliver_group_in_thread, groups.values()))


def _deliver_group_in_thread(rows: list[ResolveOutbox]) -> int:
    from django.db import connections

    try:
        return _deliver_group(rows)
    finally:
        connections.close_all()


def _deliver_group(rows: list[ResolveOutbox]) -> int:
    """One integration's due rows, in order, through one connector; returns how many were delivered."""
    from contextlib import ExitStack

    from rmmbridge.integrations.connect import connector_for

    delivered = 0
    with ExitStack() as stack:
        connector: Any = None
        for row in rows:
            if not _claim(int(row.pk), row.next_attempt_at):
                continue
            error = ""
            try:
                if connector is None:
                    connector = stack.enter_context(connector_for(row.integration))
                connector.resolve_alert(row.external_id)
            except ConnectorError as exc:
                error = f"{type(exc).__name__}: {exc.message}"
            except Exception as exc:
                log.exception("resolve %s failed", row.pk)
                error = f"{type(exc).__name__}: {exc}"
            delivered += _record_attempt(row, error)
    return delivered


def _record_attempt(row: ResolveOutbox, error: str) -> int:
    """Store one call's result (1 when delivered); a delivered row keeps no error text of earlier attempts."""
    with transaction.atomic():
        row.attempts += 1
        if error:
            row.last_error = error[:5000]
            row.next_attempt_at = utcnow() + timedelta(seconds=backoff_delay(row.attempts))
            row.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            return 0
        row.status = OutboxStatus.DELIVERED
        row.delivered_at = utcnow()
        row.next_attempt_at = row.delivered_at
        row.last_error = ""
        row.save(update_fields=["attempts", "status", "delivered_at", "next_attempt_at", "last_error"])
        return 1


def retry_now(row: ResolveOutbox) -> None:
    """Make a pending row due immediately (the 'Retry now' button)."""
    ResolveOutbox.objects.filter(pk=row.pk, status=OutboxStatus.PENDING).update(next_attempt_at=utcnow())
