"""Helpers for the distributed tests: a dedicated PostgreSQL database, Redis, and rmmbridge subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

PG_ADMIN_URL = os.environ.get("RMMBRIDGE_E2E_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("RMMBRIDGE_E2E_REDIS", "redis://127.0.0.1:6379/13")
# Unique per test process, so test runs of several people on one machine never share a database, queue or lock.
RUN_ID = f"e2e{os.getpid()}"

SETUP_SCRIPT = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
django.setup()
from rmmbridge.integrations.actions import do_create_integration
from rmmbridge.integrator.actions import do_update_schedule
from rmmbridge.servicedesk.actions import Actor
spec = json.loads(sys.argv[1])
ids = []
for item in spec["integrations"]:
    integration = do_create_integration(Actor.cli("e2e"), item["vendor"], item["name"], item["credentials"], test=True)
    if item.get("schedule"):
        do_update_schedule(Actor.cli("e2e"), integration, item["schedule"])
    ids.append(integration.pk)
print(json.dumps(ids))
"""

TRIGGER_SCRIPT = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
django.setup()
from django.db import transaction
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.dispatch import trigger_now
with transaction.atomic():
    job = trigger_now(Integration.objects.get(pk=int(sys.argv[1])), sys.argv[2])
print(job.pk)
"""


def psql_connect(url: str) -> Any:
    import psycopg

    return psycopg.connect(url, autocommit=True)


def pg_available() -> bool:
    try:
        with psql_connect(PG_ADMIN_URL):
            return True
    except Exception:
        return False


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except Exception:
        return False


@contextmanager
def fresh_database(name: str) -> Iterator[str]:
    """Create database `name` (dropping a leftover), yield its URL, drop it afterwards."""
    with psql_connect(PG_ADMIN_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with psql_connect(PG_ADMIN_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Services:
    """Environment and processes of one distributed deployment (PostgreSQL + Redis + workers + scheduler)."""

    def __init__(self, database_url: str, log_dir: Path, **extra_env: str) -> None:
        self.database_url = database_url
        self.log_dir = log_dir
        self.env = dict(os.environ)
        self.env.update({
            "DATABASE_URL": database_url,
            "RMMBRIDGE_MODE": "distributed",
            "RMMBRIDGE_BROKER_URL": REDIS_URL,
            "RMMBRIDGE_REDIS_URL": REDIS_URL,
            "RMMBRIDGE_LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
            "RMMBRIDGE_QUEUE": f"rmmbridge-{RUN_ID}",
            "RMMBRIDGE_REDIS_PREFIX": f"rmmbridge-{RUN_ID}",
        })
        self.env.update(extra_env)
        self.processes: list[subprocess.Popen[bytes]] = []

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run([sys.executable, *args], env=self.env, capture_output=True, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(f"{args[:3]} failed: {done.stderr.decode()[-3000:]}")
        return done.stdout.decode()

    def migrate(self) -> None:
        self.run("-m", "rmmbridge", "manage", "migrate", "--verbosity", "0")

    def setup(self, integrations: Sequence[dict[str, Any]]) -> list[int]:
        return list(json.loads(self.run("-c", SETUP_SCRIPT, json.dumps({"integrations": list(integrations)}))))

    def trigger(self, integration_id: int, kind: str = "sync") -> int:
        return int(self.run("-c", TRIGGER_SCRIPT, str(integration_id), kind).strip())

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-m", "rmmbridge", *args], env=self.env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def worker(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, "worker", "--concurrency", "1", "--loglevel", "WARNING", "--name", f"{name}@e2e")

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (the Celery main process and its pool children)."""
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=20)

    def stop_all(self) -> None:
        """SIGTERM every process group still running, then SIGKILL what has not exited after 10 s."""
        for process in self.processes:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                    process.wait(timeout=10)
                except ProcessLookupError:
                    continue
                except subprocess.TimeoutExpired:
                    self.kill(process)

    def logs(self) -> str:
        """The processes' logs and the job table, for failure messages."""
        text = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))
        try:
            jobs = self.query("SELECT id, kind, status, attempts, worker, error, notes FROM integrator_jobrun")
        except Exception as exc:
            jobs = [(f"cannot read jobs: {exc}",)]
        return text + "\n--- jobs\n" + "\n".join(repr(row) for row in jobs)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psql_connect(self.database_url) as conn:
            return list(conn.execute(sql, params).fetchall())

    def scalar(self, sql: str, *params: Any) -> Any:
        rows = self.query(sql, *params)
        return rows[0][0] if rows else None


def wait_for(condition: Callable[[], Any], timeout: float, what: str, services: Services | None = None,
             interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    logs = services.logs() if services else ""
    raise AssertionError(f"Timed out after {timeout:.0f} s waiting for {what}\n{logs}")


def flush_redis() -> None:
    """Delete this run's queue and lock keys (other runs' keys stay)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = [*client.scan_iter(f"rmmbridge-{RUN_ID}*"), *client.scan_iter(f"*rmmbridge-{RUN_ID}*")]
    if keys:
        client.delete(*set(keys))
