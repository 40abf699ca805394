"""Benchmark: distributed sync throughput of 20 emulated integrations × 5,000 devices with 1, 2 and 4 workers.

Each round gets a fresh PostgreSQL database, adds the integrations (Datto RMM emulators served by one child
process on loopback), starts N Celery workers (`rmmbridge worker --concurrency 1`) and one scheduler on Redis,
queues one sync job per integration and times until every job has finished. Prints one JSON object: devices/s per worker
count (devices the syncs processed: created, updated, unchanged, linked, … / wall time from queueing the
jobs to the last one finishing) and the scaling ratio against one worker. `assets_in_db` can be below the
device count: devices of different emulated tenants match one asset (same hostname within a same-named
customer). Order independence (issue 12): the same input must give the same assets whatever the number of
workers, so `assets_per_workers` lists the asset count of each round and `assets_equal` says whether they are
all equal; `deferred` counts devices a sync did not create because another sync created a matching asset
meanwhile (they are linked at the next run).

    .venv/bin/python bench/scale.py [--integrations 20] [--devices 5000] [--workers 1,2,4]

Needs PostgreSQL at 127.0.0.1:5432 (user postgres) and Redis at 127.0.0.1:6379 (database 14 is flushed; set
RMMBRIDGE_BENCH_REDIS and RMMBRIDGE_BENCH_DB_NAME to use others).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN = os.environ.get("RMMBRIDGE_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("RMMBRIDGE_BENCH_REDIS", "redis://127.0.0.1:6379/14")
DB_NAME = os.environ.get("RMMBRIDGE_BENCH_DB_NAME", "rmmbridge_bench_scale")

EMULATORS = """
import json, sys, time
from contextlib import ExitStack
from rmmbridge.connectors.testing.server import serve_emulator
count, devices = int(sys.argv[1]), int(sys.argv[2])
with ExitStack() as stack:
    found = []
    for n in range(count):
        em = stack.enter_context(serve_emulator("datto_rmm", seed=n + 1, customers=10, devices=devices, alerts=0))
        em.state.account_uid = f"bench-{n}"
        live = sum(1 for d in em.state.iter_devices() if not d.deleted)
        found.append({"credentials": {**em.credentials, "fetch_audits": False}, "live": live})  # pipeline only
    print(json.dumps(found), flush=True)
    while True:
        time.sleep(3600)
"""

SETUP = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
django.setup()
from rmmbridge.integrations.actions import do_create_integration
from rmmbridge.servicedesk.actions import Actor
ids = []
for n, item in enumerate(json.loads(sys.stdin.read())):
    ids.append(do_create_integration(Actor.cli("bench"), "datto_rmm", f"Bench {n}", item["credentials"], test=True).pk)
print(json.dumps(ids))
"""

TRIGGER = """
import json, os, sys
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
django.setup()
from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.dispatch import dispatch_job
from rmmbridge.integrator.models import JobRun, JobTrigger
jobs = [JobRun.objects.create(kind="sync", integration=i, entities="customers,assets", trigger=JobTrigger.MANUAL)
        for i in Integration.objects.order_by("pk")]
for job in jobs:
    dispatch_job(job.pk)
print(json.dumps([job.pk for job in jobs]))
"""


def admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql).fetchall())


def run_round(workers: int, emulators: list[dict[str, Any]], env: dict[str, str], logs: Path) -> dict[str, Any]:
    admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{DB_NAME}"')
    url = PG_ADMIN.rsplit("/", 1)[0] + "/" + DB_NAME
    env = {**env, "DATABASE_URL": url}
    import redis

    redis.Redis.from_url(REDIS).flushdb()
    py = sys.executable
    subprocess.run([py, "-m", "rmmbridge", "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([py, "-c", SETUP], env=env, check=True, input=json.dumps(emulators).encode(),
                   capture_output=True)
    procs = []
    for n in range(workers):
        log = (logs / f"w{workers}-{n}.log").open("wb")
        procs.append(subprocess.Popen([py, "-m", "rmmbridge", "worker", "--concurrency", "1", "--loglevel", "WARNING",
                                       "--name", f"bench{n}@scale"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                      start_new_session=True))
    log = (logs / f"scheduler-{workers}.log").open("wb")
    procs.append(subprocess.Popen([py, "-m", "rmmbridge", "scheduler", "--interval", "1"], env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True))  # re-queues deferred jobs
    time.sleep(4)  # workers connect to the broker
    started = time.monotonic()
    subprocess.run([py, "-c", TRIGGER], env=env, check=True, capture_output=True)
    expected = len(emulators)
    try:
        while True:
            done = query(url, "SELECT count(*) FROM integrator_jobrun WHERE status IN ('success','partial','failed')")
            if done[0][0] >= expected:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit("timed out after 30 minutes")
            time.sleep(0.25)
        elapsed = time.monotonic() - started
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    statuses = dict(query(url, "SELECT status, count(*) FROM integrator_jobrun GROUP BY status"))
    assets = query(url, "SELECT count(*) FROM servicedesk_asset")[0][0]
    devices = 0  # devices each sync processed (created, updated, unchanged, linked, … errors)
    for (counts,) in query(url, "SELECT DISTINCT ON (integration_id) counts FROM sync_syncrun "
                                "ORDER BY integration_id, id DESC"):  # a sync run again after a race counts once
        devices += sum(v for v in (counts or {}).get("assets", {}).values() if isinstance(v, int))
    errors = [row[0] for row in query(url, "SELECT errors FROM sync_syncrun WHERE status <> 'success'")]
    links = query(url, "SELECT count(*) FROM integrations_externalref WHERE kind = 'asset'")[0][0]
    deferred = 0  # from each run's warning (its stored rows are capped)
    for (warnings,) in query(url, "SELECT warnings FROM sync_syncrun"):
        for warning in warnings or []:
            if "another sync created while this one ran" in warning:
                deferred += int(warning.split(" ", 1)[0])
    admin(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
    return {"workers": workers, "seconds": round(elapsed, 2), "devices": devices, "assets_in_db": assets,
            "asset_links": links, "deferred": deferred,
            "devices_per_s": round(devices / elapsed, 1), "jobs": statuses,
            "sample_errors": [e[:160] for errs in errors for e in errs][:3]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--integrations", type=int, default=20)
    parser.add_argument("--devices", type=int, default=5000, help="Devices per integration.")
    parser.add_argument("--workers", default="1,2,4", help="Worker counts to measure, comma-separated.")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally blocks stop workers and emulators
    home = tempfile.mkdtemp(prefix="rmmbridge-bench-scale-")
    env = {**os.environ, "RMMBRIDGE_HOME": home, "RMMBRIDGE_MODE": "distributed", "RMMBRIDGE_BROKER_URL": REDIS,
           "RMMBRIDGE_REDIS_URL": REDIS, "RMMBRIDGE_LOG_LEVEL": "WARNING"}
    logs = Path(home)
    server = subprocess.Popen([sys.executable, "-c", EMULATORS, str(args.integrations), str(args.devices)],
                              env=env, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert server.stdout is not None
        emulators = json.loads(server.stdout.readline())
        rounds = [run_round(int(n), emulators, env, logs) for n in args.workers.split(",")]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    base = rounds[0]["devices_per_s"]
    print(json.dumps({
        "integrations": args.integrations,
        "devices_per_integration": args.devices,
        "live_devices": sum(e["live"] for e in emulators),
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "scaling_ratio": {str(r["workers"]): round(r["devices_per_s"] / base, 2) for r in rounds},
        "assets_per_workers": {str(r["workers"]): r["assets_in_db"] for r in rounds},
        "assets_equal": len({r["assets_in_db"] for r in rounds}) == 1,
    }, indent=2))


if __name__ == "__main__":
    main()
