"""The RMMBRIDGE_HOME folder and the generated key files kept in it."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from rmmbridge.common.homepath import CHECKOUT_HOME as CHECKOUT_HOME
from rmmbridge.common.homepath import DATABASE_FILE as DATABASE_FILE
from rmmbridge.common.homepath import DEFAULT_HOME as DEFAULT_HOME
from rmmbridge.common.homepath import locate_home


def resolve_home() -> Path:
    """RMMBRIDGE_HOME; else ./.rmmbridge when a database is there (a checkout where `make demo` ran); else ~/.rmmbridge.

    Creates nothing.
    """
    return Path(locate_home())


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
    from cryptography.fernet import Fernet  # here, not at the top: `rmmbridge mailgate` reads the home without it

    return [_read_or_create(home_dir() / "encryption_key", Fernet.generate_key().decode("ascii"))]
