"""The RMMBRIDGE_HOME folder and the generated key files kept in it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

DEFAULT_HOME = "~/.rmmbridge"
#: The folder `make demo` uses inside a checkout; found there when RMMBRIDGE_HOME is not set.
CHECKOUT_HOME = ".rmmbridge"
DATABASE_FILE = "rmmbridge.sqlite3"


def resolve_home() -> Path:
    """RMMBRIDGE_HOME; else ./.rmmbridge when a database is there (a checkout where `make demo` ran); else ~/.rmmbridge.

    Creates nothing.
    """
    configured = os.environ.get("RMMBRIDGE_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    checkout = Path.cwd() / CHECKOUT_HOME
    if (checkout / DATABASE_FILE).is_file():
        return checkout
    return Path(DEFAULT_HOME).expanduser()


def home_dir() -> Path:
    """Return the home folder (see resolve_home), creating it with mode 0700."""
    path = resolve_home()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _read_or_create(path: Path, make: str) -> str:
    """Read a one-line secret file, or create it with mode 0600 holding `make`."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(make + "\n")
    return make


def secret_key() -> str:
    """Django's SECRET_KEY: RMMBRIDGE_SECRET_KEY, else the generated file in RMMBRIDGE_HOME."""
    from_env = os.environ.get("RMMBRIDGE_SECRET_KEY", "").strip()
    if from_env:
        return from_env
    return _read_or_create(home_dir() / "secret_key", secrets.token_urlsafe(50))


def encryption_keys() -> list[str]:
    """Fernet keys, newest first: RMMBRIDGE_ENCRYPTION_KEYS (comma-separated), else the generated file."""
    from_env = [k.strip() for k in os.environ.get("RMMBRIDGE_ENCRYPTION_KEYS", "").split(",") if k.strip()]
    if from_env:
        return from_env
    return [_read_or_create(home_dir() / "encryption_key", Fernet.generate_key().decode("ascii"))]
