"""The Atera emulator's estate: deterministic from the seed, realistic, and in the spec's DTO shapes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
#: Property names and enums of the Atera v3 OpenAPI document (see its `_source`).
SCHEMAS = Path(__file__).parent / "samples" / "atera-v3-schemas.json"


def estate(seed: int = 5, devices: int = 300) -> AteraEmulatorState:
    return AteraEmulatorState(seed=seed, customers=6, devices=devices, alerts=8, now=NOW)


def test_same_seed_same_estate_other_seed_other_estate() -> None:
    one, two, other = estate(), estate(), estate(seed=6)
    render = lambda s: [s.device_json(d) for d in s.iter_devices()]  # noqa: E731
    assert render(one) == render(two)
    assert [one.alert_json(a) for a in one.alerts.values()] == [two.alert_json(a) for a in two.alerts.values()]
    assert one.contacts == two.contacts
    assert render(one) != render(other)
    assert one.credentials == two.credentials != other.credentials


def test_estate_mix_is_realistic() -> None:
    state = estate()
    agents = [state.agent_json(d) for d in state.iter_devices() if not state.is_snmp(d)]
    snmp = [state.snmp_json(d) for d in state.iter_devices() if state.is_snmp(d)]
    os_types = Counter(a["OSType"] for a in agents)
    assert set(os_types) == {"Server", "Domain Controller", "Work Station"}
    assert os_types["Work Station"] > os_types["Server"]
    families = Counter(a["OS"].split()[0] for a in agents)
    assert {"Microsoft", "macOS", "Ubuntu"} <= set(families)
    assert sum(1 for a in agents if a.get("BatteryInfo")) > 20
    assert {s["Type"] for s in snmp} >= {"Printer", "Switch"}
    assert len({a["VendorSerialNumber"] for a in agents}) == len(agents)
    online = sum(1 for a in agents if a["Online"])
    assert 0.4 * len(agents) < online < 0.9 * len(agents)
    for agent in agents:
        if agent["OS"].startswith("macOS"):
            assert agent["Vendor"] == "Apple Inc."
            assert agent["VendorSerialNumber"].startswith("C02")
        assert agent["LastSeen"].endswith("Z")
        assert agent["LastSeen"].removesuffix("Z") <= NOW.replace(tzinfo=None).isoformat()
    for device in snmp:
        assert device["MonitoringAgentID"] in {a["AgentID"] for a in agents if a["CustomerID"] == device["CustomerID"]}


def test_rendered_dtos_use_only_the_spec_fields() -> None:
    schemas = json.loads(SCHEMAS.read_text())["schemas"]
    state = estate(devices=60)
    agent = next(state.agent_json(d) for d in state.iter_devices() if d.kind == "laptop")
    printer = next(state.snmp_json(d) for d in state.iter_devices() if d.kind == "printer")
    alert = state.alert_json(next(iter(state.alerts.values())))
    rendered = {
        "AgentDto": agent,
        "SnmpDeviceDto": printer,
        "AlertDto": alert,
        "CustomerDto": state.customer_json(0),
        "ContactDto": state.contacts[0],
        "AccountInfoResponse": state.account_json(),
    }
    for name, body in rendered.items():
        declared = set(schemas[name]["properties"])
        assert set(body) <= declared, f"{name} has fields the spec does not declare: {set(body) - declared}"
    assert set(schemas["BatteryDto"]["properties"]) >= set(agent["BatteryInfo"])
    assert alert["Severity"] in schemas["AlertSeverity"]["enum"]
    assert alert["AlertCategoryID"] in schemas["AlertCategory"]["enum"]
