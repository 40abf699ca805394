"""Pytest plugin loaded before Django: points RMMBRIDGE_HOME at a fresh temporary folder for the run."""

from __future__ import annotations

import os
import tempfile

if not os.environ.get("RMMBRIDGE_KEEP_HOME_FOR_TESTS"):
    os.environ["RMMBRIDGE_HOME"] = tempfile.mkdtemp(prefix="rmmbridge-test-home-")
