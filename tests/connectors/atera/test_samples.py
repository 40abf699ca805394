"""Every saved Atera sample (../shared/research/samples/atera) goes through the Atera parsers.

No live capture of the Atera API is public (see SOURCE.txt): these are documentation examples, one of them likely
machine-written, so they are robustness probes as much as truth.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.connectors.samples import Sample, sample_tests

from rmmbridge.alerts.opening import SEVERITY_PRIORITY
from rmmbridge.connectors.atera.client import relative_link
from rmmbridge.connectors.atera.normalize import parse_item, to_alert, to_device
from rmmbridge.connectors.atera.schemas import Agent, Alert
from rmmbridge.connectors.records import AlertState, DeviceType, RemoteAlert


def alert_of(raw: Any) -> RemoteAlert:
    return to_alert(parse_item(Alert, raw, "alert"), raw)


def check_agents_page(data: Any) -> None:
    [agent] = [to_device(parse_item(Agent, raw, "agent"), raw) for raw in data["items"]]
    assert (agent.external_id, agent.hostname, agent.customer_external_id) == ("29", "PURPLE-TAV1", "1")
    assert agent.device_type is DeviceType.WORKSTATION  # no OSType: "Windows 11 Pro" is not a server OS
    assert agent.os_name == "Windows 11 Pro"
    assert agent.online is True
    assert agent.last_seen == datetime(2025, 8, 2, 4, 32, 7, tzinfo=UTC)
    assert agent.fields["DeviceGuid"] == "038093b6-d6a6-4507-84af-4630c3bf13d6"
    assert agent.fields["Memory"] == 7896
    assert (data["page"], data["totalPages"], data["totalItemCount"]) == (1, 3, 125)
    assert relative_link(data["nextLink"]) == "/api/v3/agents?page=2&itemsInPage=50"  # asked of our own host


def check_alert(data: Any) -> None:
    alert = alert_of(data)
    assert alert.external_id == "111111"
    assert alert.device_external_id is None  # no AgentId: the connector looks it up by DeviceGuid / DeviceName
    assert alert.hostname == "SERVER-DC01"
    assert alert.raw["DeviceGuid"] == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert alert.severity == "Warning"
    assert SEVERITY_PRIORITY[alert.severity.lower()] == 3
    assert alert.alert_type == "Performance"  # "performance" in the sample; the spec's enum spells it so
    assert alert.message == "High CPU Usage"
    assert alert.state is AlertState.OPEN
    assert alert.raised_at == datetime(2024, 2, 15, 10, 30, tzinfo=UTC)
    assert alert.resolved_at is None


def check_alerts_page(data: Any) -> None:
    [alert] = [alert_of(raw) for raw in data["items"]]
    assert (alert.external_id, alert.hostname, alert.severity) == ("111111", "SERVER-DC01", "Warning")
    assert alert.message == "High CPU Usage"
    assert alert.raw["CustomerID"] == 12345
    assert "totalItemCount" not in data  # this page says "totalItems": paging relies on nextLink / totalPages only
    assert data["totalPages"] == 5


INDEX = {
    "dashboard-doc-agents-page.json": Sample(check_agents_page),
    "skill-doc-alert.json": Sample(check_alert),
    "skill-doc-alerts-page.json": Sample(check_alerts_page),
}

test_every_sample_has_an_index_entry, test_sample_parses = sample_tests("atera", INDEX)
