"""The emulator-vs-OpenAPI helper itself: it reports wrong shapes, tolerates only the nulls it is told about."""

from __future__ import annotations

import json

from tests.connectors.openapi import SpecFile, check_response

NINJA = SpecFile("ninjaone", "ninjaone-api-core-resources.homotechsual.yaml")
URL = "http://127.0.0.1:1/v2/device/7"
HEADERS = {"content-type": "application/json"}


def body(**fields: object) -> bytes:
    return json.dumps({"id": 7, "organizationId": 2, "nodeClass": "WINDOWS_SERVER", **fields}).encode()


def test_a_documented_response_with_a_wrong_type_is_a_finding() -> None:
    spec = NINJA.load()
    good = check_response(spec, "GET", URL, 200, HEADERS, body(ipAddresses=["10.0.0.1"]))
    assert good is not None
    assert good.errors == ()
    bad = check_response(spec, "GET", URL, 200, HEADERS, body(id="seven", ipAddresses="10.0.0.1"))
    assert bad is not None
    text = " | ".join(bad.errors)
    assert "id" in text
    assert "ipAddresses" in text


def test_only_the_declared_nulls_are_tolerated() -> None:
    spec = NINJA.load()
    raw = body(ipAddresses=None, tags=None)
    strict = check_response(spec, "GET", URL, 200, HEADERS, raw)
    assert strict is not None
    assert any("ipAddresses" in e for e in strict.errors)
    lenient = check_response(spec, "GET", URL, 200, HEADERS, raw, nulls={"ipAddresses": "real", "tags": "real"})
    assert lenient is not None
    assert lenient.errors == ()
    partly = check_response(spec, "GET", URL, 200, HEADERS, raw, nulls={"tags": "real"})
    assert partly is not None
    assert partly.errors
    assert all("tags" not in e for e in partly.errors)


def test_paths_the_document_does_not_describe_are_not_checked() -> None:
    assert check_response(NINJA.load(), "GET", "http://127.0.0.1:1/_emulator/state", 200, HEADERS, b"{}") is None
