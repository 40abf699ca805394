"""The facts of one alert report (from any channel), the event rejection, and the device + condition key."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from rmmbridge.alerts.decide import EventKind
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import Asset
from rmmbridge.tickets.models import TicketType


@dataclass(frozen=True)
class AlertFacts:
    """One alert report, normalized from any channel."""

    kind: EventKind
    key: str
    integration: Integration | None
    external_id: str = ""
    occurrence_id: str = ""
    device_external_id: str = ""
    hostname: str = ""
    ip_address: str = ""
    condition: str = ""
    message: str = ""
    summary: str = ""
    details: str = ""
    severity: str = ""
    ticket_type: TicketType | None = None
    report_only: bool = False
    #: The asset already looked up for these facts (`asset_checked` tells None = "no asset" from "not looked").
    asset: Asset | None = None
    asset_checked: bool = False
    #: When the sender says the event happened (a trigger older than the alert's resolution reopens nothing).
    occurred_at: datetime | None = None
    #: How a close from this report was checked (shown in the closing note; "Unverified close: …" when not).
    verification: str = ""


class RejectEvent(Exception):
    """The event cannot be turned into alerts; the message says why (kept on the event)."""

    def __init__(self, status: str, reason: str, ticket_id: int | None = None, http_status: int | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.ticket_id = ticket_id
        self.http_status = http_status


_TIMESTAMPISH = re.compile(
    r"\b\d{4}-\d{2}-\d{2}([ T]\d{1,2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?\b|\b\d{1,2}:\d{2}(:\d{2})?\b"
    r"|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{10,13}\b"
)


def condition_key(device: str, condition: str) -> str:
    """The visible key for an alert without an RMM id: 'device + condition', timestamps and counters removed."""
    cleaned = _TIMESTAMPISH.sub("", condition)
    cleaned = re.sub(r"\s+", " ", cleaned).strip(" -:,").lower()
    return f"{device.strip().lower() or 'unknown device'} + {cleaned or 'unknown condition'}"[:255]
