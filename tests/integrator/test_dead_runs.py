"""Sync runs whose process died (SIGKILL) are closed as failed with the reason, whoever started them."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from rmmbridge.common.clock import utcnow
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import locks
from rmmbridge.integrator.runs import DEAD_RUN_MESSAGE, close_dead_sync_runs, sync_lock_name
from rmmbridge.integrator.tasks import tick
from rmmbridge.sync.models import SyncRun, SyncStatus


def _run(integration: Integration, trigger: str, minutes_ago: float) -> SyncRun:
    return SyncRun.objects.create(integration=integration, trigger=trigger,
                                  started_at=utcnow() - timedelta(minutes=minutes_ago))


@pytest.mark.django_db
def test_tick_closes_ui_and_cli_runs_nobody_runs_any_more() -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Dead runs", status="ok")
    ui, cli = _run(integration, "ui", 30), _run(integration, "cli", 20)
    young = _run(Integration.objects.create(vendor="datto_rmm", name="Young", status="ok"), "cli", 0)
    tick(dispatch=lambda _job_id: None, outbox=False)
    for run in (ui, cli):
        run.refresh_from_db()
        assert run.status == SyncStatus.FAILED
        assert run.message == DEAD_RUN_MESSAGE
        assert run.finished_at is not None
    young.refresh_from_db()
    assert young.status == SyncStatus.RUNNING  # within the grace period: maybe just starting


@pytest.mark.django_db
def test_a_held_lock_keeps_only_the_newest_run_alive() -> None:
    integration = Integration.objects.create(vendor="datto_rmm", name="Held", status="ok")
    old, newest = _run(integration, "ui", 30), _run(integration, "schedule", 10)
    with locks.hold(sync_lock_name(int(integration.pk))):
        assert close_dead_sync_runs() == 1
        old.refresh_from_db()
        newest.refresh_from_db()
        assert (old.status, newest.status) == (SyncStatus.FAILED, SyncStatus.RUNNING)
        # the holder itself, about to start its own run, knows every running run of the integration is dead
        assert close_dead_sync_runs(integration_id=int(integration.pk), lock_held_by_caller=True) == 1
    newest.refresh_from_db()
    assert newest.status == SyncStatus.FAILED


def _cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rmmbridge", *args], env=_env(home, env), capture_output=True,
                          text=True, timeout=180, check=False)


def _env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMMBRIDGE_", "DATABASE_URL", "DJANGO_"))}
    env["RMMBRIDGE_HOME"] = str(home)
    env.update(extra or {})
    return env


def _runs(home: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(f"file:{home / 'rmmbridge.sqlite3'}?mode=ro", uri=True, timeout=10) as db:
        return list(db.execute("SELECT id, status, message FROM sync_syncrun ORDER BY id"))


@pytest.mark.timeout(240)
def test_a_sigkilled_cli_sync_is_closed_as_failed(tmp_path: Path) -> None:
    from rmmbridge.connectors.testing.server import serve_emulator

    home = tmp_path / "home"
    assert _cli(home, "init").returncode == 0
    with serve_emulator("datto_rmm", seed=4, customers=2, devices=40, alerts=0, page_size=5) as datto:
        secrets = {f"RMMBRIDGE_SECRET_{k.upper()}": v for k, v in datto.credentials.items() if k != "api_url"}
        added = _cli(home, "integration", "add", "datto_rmm", "--name", "Killed", f"--set=api_url={datto.url}",
                     env=secrets)
        assert added.returncode == 0, added.stderr
        datto.state.faults.add("slow:GET:/api/v2/account/devices:delay=60")
        sync = subprocess.Popen([sys.executable, "-m", "rmmbridge", "sync", "Killed", "--json"],
                                env=_env(home, {"RMMBRIDGE_LOCK_TTL": "2"}), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any("devices" in p for p in datto.state.requests_by_path):
                time.sleep(0.2)
            assert _runs(home)[-1][1] == "running"
        finally:
            os.killpg(sync.pid, signal.SIGKILL)
            sync.wait(10)
        time.sleep(3)  # the killed process's lock expires (TTL 2 s): nobody renews it
        assert _runs(home)[-1][1] == "running"  # what the issue saw: left running
        datto.state.faults.clear()
        closed = _cli(home, "manage", "shell", "-c",
                      "from rmmbridge.integrator.tasks import tick; tick(dispatch=lambda _: None, outbox=False)",
                      env={"RMMBRIDGE_DEAD_RUN_GRACE": "0"})
        assert closed.returncode == 0, closed.stderr
        first = _runs(home)[-1]
        assert first[1] == "failed"
        assert first[2] == DEAD_RUN_MESSAGE

        # killed again; this time the next CLI sync of the integration closes it before it starts its own run
        datto.state.faults.add("slow:GET:/api/v2/account/devices:delay=60")
        sync = subprocess.Popen([sys.executable, "-m", "rmmbridge", "sync", "Killed", "--json"],
                                env=_env(home, {"RMMBRIDGE_LOCK_TTL": "2"}), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(_runs(home)) < 2:
                time.sleep(0.2)
            time.sleep(1)
        finally:
            os.killpg(sync.pid, signal.SIGKILL)
            sync.wait(10)
        time.sleep(3)
        datto.state.faults.clear()
        again = _cli(home, "sync", "Killed", "--json", "--yes")
        assert again.returncode == 0, again.stderr
        runs = _runs(home)
        assert [status for _id, status, _msg in runs] == ["failed", "failed", "success"]
        assert runs[1][2] == DEAD_RUN_MESSAGE


