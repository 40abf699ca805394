"""Parsing of NinjaOne API webhook payloads (activities) into alerts, including the RESET that closes one."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rmmbridge.connectors.errors import ConnectorFatalError
from rmmbridge.connectors.ninjaone.alerts import parse_webhook
from rmmbridge.connectors.records import AlertState

SERIES = "3c8f2a0e-5d1b-4a7c-9e6f-0b1a2c3d4e5f"


def activity(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": 981234,
        "activityTime": 1787898261.5,
        "deviceId": 42,
        "severity": "CRITICAL",
        "priority": "HIGH",
        "seriesUid": SERIES,
        "activityType": "CONDITION",
        "statusCode": "TRIGGERED",
        "status": "Triggered",
        "sourceConfigUid": "a1b2c3d4-0000-4000-8000-000000000001",
        "sourceName": "Disk free space",
        "subject": "Disk free space on WS-0042",
        "message": "Disk C: free space is below 10%",
        "type": "CONDITION_AGENT_DISK_FREE_SPACE",
        "data": {"message": {"code": "CONDITION_AGENT_DISK_FREE_SPACE"}},
        "device": {"id": 42, "systemName": "WS-0042"},
    }
    body.update(overrides)
    return body


def test_triggered_condition_opens_an_alert() -> None:
    [alert] = parse_webhook(json.dumps(activity()).encode(), {"content-type": "application/json"})
    assert alert.external_id == SERIES
    assert alert.state is AlertState.OPEN
    assert alert.device_external_id == "42"
    assert alert.hostname == "WS-0042"
    assert alert.severity == "CRITICAL"
    assert alert.message == "Disk C: free space is below 10%"
    assert alert.alert_type == "Disk free space"  # the policy's condition name (sourceName)
    assert alert.raised_at is not None
    assert alert.resolved_at is None
    assert alert.raw["id"] == 981234


def test_reset_condition_resolves_the_same_series() -> None:
    body = activity(id=981300, statusCode="RESET", status="Reset", activityTime=1787899000.0)
    [alert] = parse_webhook(json.dumps(body).encode(), {})
    assert alert.external_id == SERIES
    assert alert.state is AlertState.RESOLVED
    assert alert.resolved_at is not None
    assert alert.raised_at is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"activityType": "PATCH_MANAGEMENT", "statusCode": "COMPLETED"},
        {"activityType": "SYSTEM", "statusCode": "NODE_CREATED"},
        {"statusCode": "ACKNOWLEDGED"},
        {"activityType": "CONDITION_ACTION", "statusCode": "COMPLETED"},
    ],
)
def test_other_activities_are_ignored(overrides: dict[str, Any]) -> None:
    assert parse_webhook(json.dumps(activity(**overrides)).encode(), {}) == []


def test_a_list_of_activities_is_accepted() -> None:
    body = [activity(), activity(id=2, statusCode="RESET"), activity(id=3, activityType="ACTION")]
    states = [a.state for a in parse_webhook(json.dumps(body).encode(), {})]
    assert states == [AlertState.OPEN, AlertState.RESOLVED]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'"just a string"', "not an object"),
        (json.dumps({"hello": "world"}).encode(), "no activityType"),
    ],
)
def test_bad_bodies_raise_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(ConnectorFatalError, match=message):
        parse_webhook(body, {})


def test_variant_shapes_from_other_senders_still_parse() -> None:
    body = activity(
        id=None,
        activityId=77,
        statusCode=None,
        status="Reset",
        activityTime="2026-08-28T06:24:21Z",
        deviceId=None,
        type="CONDITION",
        activityType=None,
    )
    [alert] = parse_webhook(json.dumps(body).encode(), {})
    assert alert.state is AlertState.RESOLVED
    assert alert.external_id == SERIES
    assert alert.device_external_id == "42"  # from the expanded device
    assert alert.alert_type == "Disk free space"  # `type` only said CONDITION: fall back to the source name
    assert alert.resolved_at is not None
    assert alert.resolved_at.isoformat() == "2026-08-28T06:24:21+00:00"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1787898261.5, "2026-08-28T06:24:21.500000+00:00"),
        ("1787898261.5", "2026-08-28T06:24:21.500000+00:00"),
        (1787898261500, "2026-08-28T06:24:21.500000+00:00"),
        ("2026-08-28T06:24:21+02:00", "2026-08-28T06:24:21+02:00"),
    ],
)
def test_activity_times_in_every_format(value: float | str, expected: str) -> None:
    [alert] = parse_webhook(json.dumps(activity(activityTime=value)).encode(), {})
    assert alert.raised_at is not None
    assert alert.raised_at.isoformat() == expected


def test_without_a_series_uid_the_pipeline_keys_by_device_and_condition() -> None:
    [alert] = parse_webhook(json.dumps(activity(seriesUid=None)).encode(), {})
    assert alert.external_id == ""
    assert (alert.device_external_id, alert.alert_type) == ("42", "Disk free space")
