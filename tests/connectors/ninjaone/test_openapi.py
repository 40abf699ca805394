"""Every documented response the NinjaOne emulator serves validates against NinjaOne's OpenAPI document."""

from __future__ import annotations

from tests.connectors.openapi import SpecFile, walk_emulator

from rmmbridge.connectors.testing.server import RunningEmulator

SPEC = SpecFile("ninjaone", "ninjaone-api-core-resources.homotechsual.yaml")
#: Lists real instances send as null although the document does not mark them nullable (fidelity audit).
REAL_NULLS = {name: "null on real devices (issue 10, fidelity audit)"
              for name in ("ipAddresses", "macAddresses", "tags")}


def _params(emulator: RunningEmulator) -> dict[str, str]:
    device = emulator.state.device_at(0)
    assert device is not None
    return {"org_id": device.customer_id, "device_id": device.id}


def test_emulator_responses_match_the_openapi_document() -> None:
    report = walk_emulator(
        "ninjaone", SPEC.load(), path_params=_params,
        extra=["/v2/devices-detailed?pageSize=3", "/v2/devices-detailed?pageSize=3&after=3",
               "/v2/activities?type=CONDITION&pageSize=10", "/v2/users?userType=END_USER"],
        nulls=REAL_NULLS, devices=24,
    )
    report.assert_valid(min_checked=19)
