"""Schemathesis against the live OpenAPI document: bounded examples, no 500, every response as documented."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.servicedesk.factories import AssetFactory, EndUserFactory

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.tickets.actions import do_create_ticket_type, do_open_ticket

from .conftest import make_token

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

#: The checks every generated request must pass; the write token lets writes through (on throw-away data).
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,"
          "response_schema_conformance")
MAX_EXAMPLES = "5"


def schemathesis(url: str, token: str, tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", url,
         "--header", f"Authorization: Bearer {token}", "--checks", CHECKS, "--max-examples", MAX_EXAMPLES,
         "--phases", "examples,coverage,fuzzing", "--seed", "1", "--workers", "1", "--request-timeout", "20",
         "--suppress-health-check", "all", "--no-color", "--report-dir", str(tmp_path), *extra],
        capture_output=True, text=True, timeout=280, cwd=tmp_path, check=False,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_run_fails_on_a_server_error(live_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness can fail: an endpoint that crashes is reported (so a green run means something)."""
    from rmmbridge.api import endpoints

    def crash(rows: Any) -> Any:
        raise RuntimeError("boom")

    AssetFactory()
    monkeypatch.setattr(endpoints, "_asset_types", crash)
    _, token = make_token("fuzzer", "read")
    code, output = schemathesis(f"{live_server.url}/api/v1/openapi.json", token, tmp_path,
                                "--include-path", "/api/v1/asset-types/")
    assert code != 0, output[-3000:]
    assert "Server error" in output, output[-3000:]


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(live_server: Any, tmp_path: Path) -> None:
    asset = AssetFactory(values={})
    EndUserFactory(site=asset.site)
    ticket_type = do_create_ticket_type(Actor.cli("t"), "Incident")
    do_open_ticket(Actor.cli("t"), summary="Printer", ticket_type=ticket_type, customer=asset.customer,
                   assets=[asset])
    _, token = make_token("fuzzer", "write")
    code, output = schemathesis(f"{live_server.url}/api/v1/openapi.json", token, tmp_path,
                                # these call the RMM or queue jobs: covered end to end against emulators
                                "--exclude-path-regex", "/test/$|/jobs/$")
    assert code == 0, output[-6000:]
    selected, tested = re.search(r"Selected: (\d+)/", output), re.search(r"Tested: (\d+)", output)
    assert selected is not None, output[-3000:]
    assert tested is not None, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(1)) >= 20  # every selected operation was exercised
