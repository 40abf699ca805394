"""Every documented response the Datto RMM emulator serves validates against Datto's own OpenAPI document.

Datto's document is generated (springdoc) with two quirks the test reads through, both stated in its SOURCE.txt
and the samples: (1) no operation lists a 200 response; the body schema of the answer is attached to its error
codes (401/403/404), so that schema is taken as the 200 body; (2) times are declared `date-time` strings while the
API sends epoch milliseconds (samples/datto-rmm/SOURCE.txt), so a date-time property also accepts an integer;
(3) see datto_spec() on alertContext. Nulls are accepted only for properties a sample shows as null.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from openapi_core import OpenAPI
from tests.conftest import require_service
from tests.connectors.openapi import SPECS_ROOT, walk_emulator
from tests.connectors.samples import samples_dir

from rmmbridge.connectors.testing.server import RunningEmulator, make_state

SPEC_PATH = SPECS_ROOT / "datto-rmm" / "datto-rmm-openapi.pncit.json"


def _widen(schema: Any) -> None:
    """date-time strings also accept epoch milliseconds (what the API really sends)."""
    if isinstance(schema, dict):
        if schema.get("format") == "date-time" and schema.get("type") == "string":
            schema["type"] = ["string", "integer"]
        for value in schema.values():
            _widen(value)
    elif isinstance(schema, list):
        for value in schema:
            _widen(value)


@cache
def datto_spec() -> OpenAPI:
    require_service(SPEC_PATH.is_file(), "the OpenAPI document ../shared/research/specs/datto-rmm/")
    text = SPEC_PATH.read_text(encoding="utf-8")
    for name in list(json.loads(text)["components"]["schemas"]):
        if not re.fullmatch(r"[A-Za-z0-9._-]+", name):  # "Variable Creation Request": not a legal component name
            text = text.replace(f'"{name}"', f'"{re.sub(r"[^A-Za-z0-9._-]", "", name)}"')
            text = text.replace(f"/schemas/{name}\"", f"/schemas/{re.sub(r'[^A-Za-z0-9._-]', '', name)}\"")
    document = json.loads(text)
    document["servers"] = [{"url": "/api"}]
    for item in document["paths"].values():
        operation = item.get("get")
        if not operation:
            continue
        responses = operation["responses"]
        body = next((responses[code]["content"] for code in ("403", "401", "404", "400")
                     if "content" in responses.get(code, {})), None)
        if body is not None and "200" not in responses:
            responses["200"] = {"description": "OK (schema as attached to the error codes)", "content": body}
    _widen(document["components"])
    # (3) alertContext is a oneOf of contexts whose properties are all optional and that name no discriminator:
    # every real context matches several of them, so it is read as anyOf (at least one context schema fits).
    context = document["components"]["schemas"]["Alert"]["properties"]["alertContext"]
    context["anyOf"] = context.pop("oneOf")
    return OpenAPI.from_dict(document)


def sample_nulls() -> dict[str, str]:
    """Property names some Datto sample sends as null, with the file that shows it."""
    found: dict[str, str] = {}

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if inner is None:
                    found.setdefault(key, f"null in samples/datto-rmm/{name}")
                walk(inner, name)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, name)

    for path in sorted(Path(samples_dir("datto-rmm")).glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")), path.name)
    return found


def _params(emulator: RunningEmulator) -> dict[str, str]:
    state: Any = emulator.state
    agent = next(d for d in state.iter_devices() if state.render_device(d)["deviceClass"] == "device")
    return {"site_uid": state.sites[0].id, "device_uid": agent.id, "alert_uid": state.open_alerts()[0].id}


ESTATE: dict[str, Any] = {"seed": 3, "customers": 3, "devices": 40, "alerts": 6, "page_size": 10}


def test_emulator_responses_match_the_openapi_document() -> None:
    spec = datto_spec()
    state: Any = make_state("datto_rmm", **ESTATE)  # the same estate the walk serves: its printer's uid
    printer = next(d for d in state.iter_devices() if d.kind == "printer")
    report = walk_emulator(
        "datto_rmm", spec, path_params=_params, nulls=sample_nulls(), **ESTATE,
        extra=["/api/v2/account/devices?max=10&page=1", "/api/v2/account/alerts/resolved",
               f"/api/v2/audit/printer/{printer.id}"],
        # the emulated estates hold no ESXi host (its audit shape is rendered from the spec's ESXiHostAudit)
        skip=["/api/v2/audit/esxihost/{device_uid}", "/api/v2/audit/printer/{device_uid}"],
    )
    report.assert_valid(min_checked=13)
    assert any("/audit/printer/" in c.url for c in report.checked)
