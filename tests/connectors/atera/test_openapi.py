"""Every documented response the Atera emulator serves validates against Atera's OpenAPI v3 document."""

from __future__ import annotations

from tests.connectors.openapi import SpecFile, walk_emulator

from rmmbridge.connectors.atera.emulator.state import AteraEmulatorState
from rmmbridge.connectors.testing.server import RunningEmulator

SPEC = SpecFile("atera", "atera-openapi-v3.json")


def _params(emulator: RunningEmulator) -> dict[str, str]:
    device = emulator.state.device_at(0)
    assert device is not None
    alert = next(iter(emulator.state.alerts.values()))
    state = emulator.state
    assert isinstance(state, AteraEmulatorState)
    snmp = next(state.snmp_json(d) for d in state.iter_devices() if state.is_snmp(d))
    return {"customer_id": device.customer_id, "agent_id": device.id, "contact_id": "1",
            "machine_name": device.hostname, "alert_id": alert.id, "device_guid": snmp["DeviceGuid"]}


def test_emulator_responses_match_the_openapi_document() -> None:
    report = walk_emulator(
        "atera", SPEC.load(), path_params=_params, devices=40,
        extra=["/api/v3/agents?page=2&itemsInPage=5", "/api/v3/alerts?alertStatus=Open",
               "/api/v3/alerts?alertStatus=Resolved", "/api/v3/devices/snmpdevices?itemsInPage=50"],
    )
    report.assert_valid(min_checked=15)
