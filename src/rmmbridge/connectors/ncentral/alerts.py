"""N-central push intake: Custom PSA ticket requests (CREATE / UPDATE / REOPEN / RESOLVE …) → RemoteAlert.

With a Custom PSA integration N-central POSTs one JSON request per ticket action to the PSA URL configured in
N-central, with the keys `action`, `title`, `details`, `ncentralTicketId`, `psaTicketNumber` (not on CREATE) and
`customTag`. The alert's external id is `psa-<ncentralTicketId>`: N-central's ticket number, which is a different
namespace from the `taskId` that identifies an active issue when polling, so use either push or polling per
integration. The request carries no device id; the title and details are kept in `raw`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.records import AlertState, RemoteAlert

#: Ticket actions that close the alert; every other action (CREATE, UPDATE, REOPEN …) keeps it open.
RESOLVING_ACTIONS = frozenset({"RESOLVE", "RESOLVED", "CLOSE", "CLOSED"})


def _payload(body: bytes) -> Any:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConnectorFatalError("N-central Custom PSA body is not UTF-8 text; expected a JSON object.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConnectorFatalError(
            f"N-central Custom PSA body is not JSON ({exc.msg} at position {exc.pos}); expected an object with "
            "action, title, details and ncentralTicketId."
        ) from None


def parse_webhook(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """Parse one Custom PSA request (an object, or a list of them) into alerts.

    Raises ConnectorFatalError naming what is missing when the body is not a Custom PSA ticket request.
    """
    payload = _payload(body)
    items = payload if isinstance(payload, list) else [payload]
    alerts: list[RemoteAlert] = []
    for raw in items:
        if not isinstance(raw, Mapping):
            raise ConnectorFatalError(f"N-central Custom PSA item is not an object: {str(raw)[:80]!r}.")
        action = str(raw.get("action") or "").strip().upper()
        ticket = str(raw.get("ncentralTicketId") or "").strip()
        missing = [name for name, value in (("action", action), ("ncentralTicketId", ticket)) if not value]
        if missing:
            raise ConnectorFatalError(
                f"N-central Custom PSA request without {' and '.join(missing)}; expected the keys action, title, "
                "details, ncentralTicketId (and psaTicketNumber after CREATE)."
            )
        title = str(raw.get("title") or "").strip()
        details = str(raw.get("details") or "").strip()
        message = title or (details.splitlines()[0] if details else f"N-central ticket {ticket}")
        alerts.append(
            RemoteAlert(
                external_id=f"psa-{ticket}",
                device_external_id=None,
                message=message,
                severity="",
                alert_type=action,
                state=AlertState.RESOLVED if action in RESOLVING_ACTIONS else AlertState.OPEN,
                raw=dict(raw),
            )
        )
    return alerts
