"""Where RMMBRIDGE_HOME is, with `os` only (the mail pipe reads it without importing pathlib or anything else)."""

from __future__ import annotations

import os

DEFAULT_HOME = "~/.rmmbridge"
#: The folder `make demo` uses inside a checkout; found there when RMMBRIDGE_HOME is not set.
CHECKOUT_HOME = ".rmmbridge"
DATABASE_FILE = "rmmbridge.sqlite3"


def locate_home() -> str:
    """RMMBRIDGE_HOME; else ./.rmmbridge when a database is there (a checkout where `make demo` ran); else ~/.rmmbridge.

    Creates nothing.
    """
    configured = os.environ.get("RMMBRIDGE_HOME", "").strip()
    if configured:
        return os.path.expanduser(configured)
    checkout = os.path.join(os.getcwd(), CHECKOUT_HOME)
    if os.path.isfile(os.path.join(checkout, DATABASE_FILE)):
        return checkout
    return os.path.expanduser(DEFAULT_HOME)
