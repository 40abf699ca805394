"""Every response the Automate emulator serves for a documented endpoint validates against Automate's OpenAPI files.

Automate's document is split by area (Computers.json, Company.json, …) and its paths start at /api/v1 (no servers
entry), while a server serves them under /cwa: each URL is requested from the emulator as the connector sends it and
checked, without the /cwa prefix, against the file that documents it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from openapi_core import Config, OpenAPI
from tests.conftest import require_service
from tests.connectors.openapi import SPECS_ROOT, Checked, check_response

from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.testing.contract import FAST_RETRY
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator

ROOT = "/cwa/api/v1"


@cache
def automate_spec(name: str) -> OpenAPI:
    """One of Automate's files, read in place, with three documented deviations applied in memory:

    - the generated files are not valid documents as a whole (query parameters without a schema such as
      `options.expands`, operation ids used twice): the document check is off, schema-less parameters are strings;
    - servers write `date-time` values without an offset (`2021-04-13T13:11:03`, their local time): such values
      are accepted as date-times (a value that is not ISO 8601 still fails);
    - the files mark nothing nullable, yet servers send null for absent objects and lists (`Device`, `Router`,
      `LoggedInUsers` in the samples): every property may be null. Types and shapes are checked as written.
    """
    path = SPECS_ROOT / "connectwise-automate" / name
    require_service(path.is_file(), f"the OpenAPI document ../shared/research/specs/connectwise-automate/{name}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for operations in data.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if "schema" not in parameter and "content" not in parameter:
                    parameter["schema"] = {"type": "string"}
    for schema in data.get("components", {}).get("schemas", {}).values():
        schema["nullable"] = True  # a referenced object (Device, Router, …) may be null
        for prop in schema.get("properties", {}).values():
            if isinstance(prop, dict) and "$ref" not in prop:
                prop["nullable"] = True
    config = Config(spec_validator_cls=None, extra_format_validators={"date-time": _automate_date_time})
    return OpenAPI.from_dict(data, config=config)


def _automate_date_time(value: Any) -> bool:
    if not isinstance(value, str):
        return True  # not a string: the type check reports it
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("cw_automate", seed=3, customers=3, devices=24, alerts=4) as running:
        yield running


def _urls(emulator: RunningEmulator) -> dict[str, list[str]]:
    state = emulator.state
    computer = next(d for d in state.iter_devices() if state.is_computer(d))  # type: ignore[attr-defined]
    printing = next(d for d in state.iter_devices() if state.printers_json(d))  # type: ignore[attr-defined]
    network = next(d for d in state.iter_devices() if not state.is_computer(d))  # type: ignore[attr-defined]
    alert = next(iter(state.alerts))
    return {
        "Computers.json": [
            f"{ROOT}/Computers?page=1&pageSize=10&orderBy=Id%20asc",
            f"{ROOT}/Computers/Chassis?page=1&pageSize=10", f"{ROOT}/Computers/{printing.id}/Printers",
            f"{ROOT}/Computers/{computer.id}/Printers", f"{ROOT}/RetiredAssets?page=1&pageSize=10",
            f"{ROOT}/Alerts?page=1&pageSize=10", f"{ROOT}/Alerts/{alert}",
        ],
        "Company.json": [f"{ROOT}/Clients?page=1&pageSize=10", f"{ROOT}/Clients/1", f"{ROOT}/Locations?page=1"],
        "Contacts.json": [f"{ROOT}/Contacts?page=1&pageSize=10"],
        "NetworkDevices.json": [f"{ROOT}/NetworkDevices?page=1&pageSize=10", f"{ROOT}/NetworkDevices/{network.id}"],
        "System.json": [f"{ROOT}/DatabaseServerTime"],
    }


def test_emulator_responses_match_the_automate_openapi_files(emulator: RunningEmulator) -> None:
    checked: list[Checked] = []
    undocumented: list[str] = []
    with open_connector("cw_automate", emulator.credentials, retry=FAST_RETRY, timeout=10) as connector:
        for name, urls in _urls(emulator).items():
            spec = automate_spec(name)
            for url in urls:
                response = connector.http.get(url)
                assert response.status_code == 200, (url, response.text[:200])
                full = str(response.request.url).replace("/cwa/api/", "/api/", 1)
                result = check_response(spec, "GET", full, response.status_code, response.headers, response.content)
                if result is None:
                    undocumented.append(url)
                else:
                    checked.append(result)
    problems = [f"{c.url}: {' | '.join(c.errors)}" for c in checked if c.errors]
    assert not problems, "\n".join(problems)
    assert not undocumented, undocumented
    assert len(checked) >= 14
