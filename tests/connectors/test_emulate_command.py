"""`rmmbridge emulate`: serves the emulator, prints credentials that work, rejects bad options clearly."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.core.management import CommandError, call_command

from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.records import AlertState


def test_emulate_prints_working_credentials_and_applies_options(tmp_path: object) -> None:
    env = {**os.environ, "RMMBRIDGE_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "rmmbridge", "emulate", "datto_rmm", "--port", "0", "--devices", "7", "--alerts", "2",
         "--set", "api_secret=my-chosen-secret", "--fault", "500:GET:/api/v2/account:times=1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any(line.startswith("Control API") for line in lines):
            assert time.monotonic() < deadline, lines
            line = process.stdout.readline()
            assert line, f"emulate exited early: {lines}"
            lines.append(line.rstrip("\n"))
        credentials = dict(line.strip().split("=", 1) for line in lines if line.startswith("  "))
        assert set(credentials) == {"api_url", "api_key", "api_secret"}
        assert credentials["api_secret"] == "my-chosen-secret"
        assert any("rmmbridge integration add datto_rmm" in line for line in lines)
        with open_connector("datto_rmm", credentials) as connector:
            assert connector.test_connection().ok  # the 500 fault was retried
            assert len(list(connector.iter_devices())) == 7
            assert len(list(connector.iter_alerts(AlertState.OPEN))) == 2
    finally:
        process.terminate()
        process.wait(10)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fault", "teapot"], "Unknown fault kind 'teapot'"),
        (["--set", "colour=red"], "Unknown credential 'colour' for datto_rmm; use one of: api_key, api_secret"),
        (["--set", "api_url=http://x"], "choose it with --host and --port"),
        (["--set", "api_key"], "--set needs KEY=VALUE"),
        (["--devices", "-1"], "--devices must be 0 or more"),
    ],
)
def test_emulate_rejects_bad_options(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("emulate", "datto_rmm", "--port", "0", *args)
