"""The console script end to end: `rmmbridge --help`, `init` (idempotent, key files 0600), `demo --no-serve`."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(home: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """Run `rmmbridge <args>` in a fresh process on an embedded SQLite database in `home`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMMBRIDGE_", "DATABASE_URL", "DJANGO_"))}
    env["RMMBRIDGE_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "rmmbridge", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "rmmbridge-home"


def test_help_lists_every_command_with_one_line(home: Path) -> None:
    result = run_cli(home, "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("Commands:\n", 1)[1].rstrip().splitlines()
    commands = dict(re.match(r"^  (\S+)\s+(.+)$", line).groups() for line in lines)  # type: ignore[union-attr]
    assert {"init", "serve", "demo", "manage"} <= set(commands)
    assert all(text.strip() for text in commands.values())
    assert commands["init"].startswith("Create RMMBRIDGE_HOME")


def test_init_creates_home_keys_and_admin_then_changes_nothing(home: Path) -> None:
    first = run_cli(home, "init")
    assert first.returncode == 0, first.stderr
    assert "Administrator: admin" in first.stdout
    password = re.search(r"Password:\s+(\S+)", first.stdout)
    assert password is not None
    assert len(password.group(1)) >= 12
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    keys = {name: home / name for name in ("secret_key", "encryption_key")}
    for path in keys.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    contents = {name: path.read_text() for name, path in keys.items()}
    database = home / "rmmbridge.sqlite3"
    assert database.exists()

    second = run_cli(home, "init")
    assert second.returncode == 0, second.stderr
    assert "nothing to do" in second.stdout
    assert "Password" not in second.stdout
    assert {name: path.read_text() for name, path in keys.items()} == contents
    users = run_cli(home, "manage", "shell", "-c",
                    "from django.contrib.auth.models import User; print(User.objects.count())")
    assert users.stdout.strip().splitlines()[-1] == "1"


def test_demo_no_serve_exits_zero_and_prints_url_and_login(home: Path) -> None:
    result = run_cli(home, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "URL:      http://127.0.0.1:8000/" in result.stdout
    assert re.search(r"Login:\s+demo / \S+", result.stdout)
    again = run_cli(home, "demo", "--no-serve")
    assert again.returncode == 0, again.stderr
    assert "already present" in again.stdout


def _run_in(cwd: Path, user_home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run `rmmbridge <args>` in `cwd` as a user whose ~ is `user_home`, with no RMMBRIDGE_HOME unless given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMMBRIDGE_", "DATABASE_URL", "DJANGO_"))}
    env.update({"HOME": str(user_home), **extra})
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([sys.executable, "-m", "rmmbridge", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=180, check=False)


def test_cli_in_a_checkout_finds_the_demo_home(tmp_path: Path) -> None:
    checkout, user = tmp_path / "checkout", tmp_path / "user"
    assert run_cli(checkout / ".rmmbridge", "init").returncode == 0  # what `make demo` leaves behind
    status = _run_in(checkout, user, "status")
    assert status.returncode == 0, status.stderr
    assert "Traceback" not in status.stderr
    assert not (user / ".rmmbridge").exists()


def test_missing_or_unmigrated_database_says_what_to_run_in_one_line(tmp_path: Path) -> None:
    user, elsewhere = tmp_path / "user", tmp_path / "elsewhere"
    missing = _run_in(elsewhere, user, "status")
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0, missing.stderr
    assert "run `rmmbridge init`" in missing.stderr
    assert not (user / ".rmmbridge").exists(), "a missing home is reported, never created empty"

    blank = tmp_path / "blank-home"
    blank.mkdir()
    unmigrated = _run_in(elsewhere, user, "integration", "list", RMMBRIDGE_HOME=str(blank))
    assert unmigrated.returncode == 2
    assert unmigrated.stderr.strip().count("\n") == 0, unmigrated.stderr
    assert "not set up" in unmigrated.stderr
    assert "rmmbridge init" in unmigrated.stderr
