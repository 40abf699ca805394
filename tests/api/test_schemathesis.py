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


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(live_server: Any, tmp_path: Path) -> None:
    asset = AssetFactory(values={})
    EndUserFactory(site=asset.site)
    ticket_type = do_create_ticket_type(Actor.cli("t"), "Incident")
    do_open_ticket(Actor.cli("t"), summary="Printer", ticket_type=ticket_type, customer=asset.customer,
                   assets=[asset])
    _, token = make_token("fuzzer", "write")
    result = subprocess.run(
        [sys.executable, "-m", "schemathesis.cli", "run", f"{live_server.url}/api/v1/openapi.json",
         "--header", f"Authorization: Bearer {token}", "--checks", CHECKS, "--max-examples", MAX_EXAMPLES,
         "--phases", "examples,coverage,fuzzing", "--seed", "1", "--workers", "1", "--request-timeout", "20",
         "--exclude-path-regex", "/test/$|/jobs/$",  # these call the RMM or queue jobs: covered end to end
         "--suppress-health-check", "all", "--no-color", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=280, cwd=tmp_path, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    selected, tested = re.search(r"Selected: (\d+)/", output), re.search(r"Tested: (\d+)", output)
    assert selected is not None, output[-3000:]
    assert tested is not None, output[-3000:]
    assert int(tested.group(1)) == int(selected.group(1)) >= 20  # every selected operation was exercised
