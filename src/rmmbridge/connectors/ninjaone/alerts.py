"""NinjaOne API webhook intake: activity payloads (CONDITION TRIGGERED/RESET) → RemoteAlert, for the alerts pipeline.

NinjaOne POSTs one activity object per request to the URL configured with `PUT /v2/webhook` (custom headers such
as Authorization can be configured there too). Only CONDITION activities open or close alerts; other activity
types (patching, logins, NODE_* …) are ignored. The alert's external id is the activity `seriesUid`, the same UID
`GET /v2/alerts` reports as `uid` and `POST /v2/alert/{uid}/reset` takes.
"""

from __future__ import annotations

from collections.abc import Mapping

from rmmbridge.connectors.errors import ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.items import webhook_items
from rmmbridge.connectors.ninjaone.normalize import activity_to_alert, is_condition_activity, parse_item
from rmmbridge.connectors.ninjaone.schemas import Activity
from rmmbridge.connectors.records import RemoteAlert


def parse_webhook(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """Parse one NinjaOne webhook body (an activity object, or a list of them) into alerts.

    Returns [] for activities that are not alert conditions. Raises ConnectorFatalError when the body is not
    JSON or not an activity, with a message saying what was received.
    """
    items = webhook_items(body, vendor="NinjaOne", expected="a NinjaOne activity object")
    alerts: list[RemoteAlert] = []
    for raw in items:
        try:
            activity = parse_item(Activity, raw, "webhook activity")
        except SkippableRecordError as exc:
            raise ConnectorFatalError(f"{exc.message}. Expected a NinjaOne activity object.") from None
        if not (activity.activityType or activity.statusCode or activity.status or activity.type):
            raise ConnectorFatalError(
                "NinjaOne webhook item has no activityType, statusCode or status; expected a NinjaOne activity object."
            )
        if is_condition_activity(activity):
            alerts.append(activity_to_alert(activity, raw))
    return alerts
