"""Benchmark: first sync and no-change resync of N Datto RMM emulator devices, against honest floors; prints JSON.

Each size runs in its own process (so peak RSS is per size) against `rmmbridge emulate datto_rmm` in another
process on loopback, into SQLite (default) or a fresh PostgreSQL database (`--postgres URL`). The floors do only the
unavoidable work:

- (a) `fetch_floor_s`: a plain httpx loop over the same pages (token, sites, devices) with `json.loads` only, the best
  of three, each paced under the vendor's rate limit like the sync;
- (b) `write_floor_s`: the rows the first sync wrote (assets, external refs, audit entries) inserted again with a raw
  sqlite3 / psycopg `executemany` into a copy of the migrated schema, commit included (foreign keys unchecked).

Reported: the first sync against (a)+(b) and max(a, b), the no-change resync (best of two) against (a) and the rows
it wrote, peak RSS of the first sync and of the resyncs alone (on Linux the process's peak, VmHWM, is reset
before each; the plain loop runs in a process of its own and the other floors after the syncs, so no floor's
memory counts; `peak_rss_mb` stays the whole process's), the growth of each above the RSS it started from, and ms
per device. The old floors (fetch through our own connector and request log; ORM `bulk_create` without its
commit) stay as extra columns named `old_*`. Targets (issue 16): first sync ≤ 1.3 × (a)+(b); peak RSS ≤ 150 MB,
flat from 10k to 100k; resync ≤ 1.1 × (a), 0 rows written; flat time per device.

    .venv/bin/python bench/sync.py --sizes 10000,100000
    .venv/bin/python bench/sync.py --sizes 10000,50000 --postgres postgres://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

#: Datto RMM allows 600 requests per rolling minute (the connector and the emulator both enforce it); every timed
#: fetch phase starts with room in that window, so no phase is measured while throttled by an earlier one.
RATE_LIMIT = 600
#: Datto RMM (and its emulator) slows every answer down by a second above 90% of the limit: stay below that.
SLOWDOWN_AT = int(RATE_LIMIT * 0.9)
PAGE = 250
_phases: list[tuple[float, int]] = []
API_KEY = "BENCHKEY0000000000000000000000000"
API_SECRET = "BENCHSECRET00000000000000000000000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_emulator(devices: int, home: str) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    port = _free_port()
    exe = Path(sys.executable).with_name("rmmbridge")
    command = [str(exe), "emulate", "datto_rmm", "--port", str(port), "--devices", str(devices),
               "--customers", str(max(devices // 500, 5)), "--alerts", "0", "--seed", "1",
               "--set", f"api_key={API_KEY}", "--set", f"api_secret={API_SECRET}"]
    process = subprocess.Popen(command, env={**os.environ, "RMMBRIDGE_HOME": home},
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(home, "emulator.log"), "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("the Datto RMM emulator did not start")
    url = f"http://127.0.0.1:{port}"
    # audits off: this bench measures the sync pipeline; audits run at Datto's 500 a minute (see bench/audits.py)
    return process, {"api_url": url, "api_key": API_KEY, "api_secret": API_SECRET, "fetch_audits": False}


def _room_for(requests: int) -> None:
    """Sleep until the last minute's requests plus `requests` fit under the vendor's rate limit."""
    while True:
        now = time.monotonic()
        recent = sum(n for at, n in _phases if now - at < 61)
        if recent + requests <= SLOWDOWN_AT - 40:
            _phases.append((now, requests))
            return
        oldest = min(at for at, _ in _phases if now - at < 61)
        time.sleep(max(0.5, 61 - (now - oldest)))


def _phase_done() -> None:
    """Count the last phase's requests as made when it ended (they spread over its whole duration)."""
    at, requests = _phases[-1]
    _phases[-1] = (max(at, time.monotonic()), requests)


def _reset_peak() -> bool:
    """Start a new peak-RSS measure for this process (Linux: VmHWM is reset by writing 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def _peak_mb(since_reset: bool) -> float:
    """Peak RSS in MB since the last `_reset_peak` (VmHWM), else of the whole process (ru_maxrss)."""
    if since_reset:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fetch_floor_process(credentials: dict[str, Any]) -> tuple[float, int]:
    """(seconds, devices) of the plain page loop, timed inside a process of its own."""
    out = subprocess.run([sys.executable, __file__, "--fetch-floor", json.dumps(credentials)], check=True,
                         capture_output=True, text=True)
    seconds, count = json.loads(out.stdout.strip().splitlines()[-1])
    return float(seconds), int(count)


def _fetch_all(connector: Any) -> int:
    count = 0
    for _ in connector.iter_sites():
        pass
    for _ in connector.iter_devices():
        count += 1
    return count


def _old_connector_fetch(integration: Any) -> tuple[float, int]:
    """The old "API floor": the same pages through our own connector and request log, records discarded."""
    from rmmbridge.integrations.connect import connector_for

    started = time.perf_counter()
    with connector_for(integration) as connector:
        count = _fetch_all(connector)
    return time.perf_counter() - started, count


def _old_orm_floor(count: int) -> float:
    """The old "DB floor": ORM bulk_create of `count` assets, refs and audit entries, rolled back (no commit)."""
    from django.db import transaction

    from rmmbridge.common.clock import utcnow
    from rmmbridge.integrations.models import ExternalRef, Integration
    from rmmbridge.servicedesk.actions import Actor, do_create_asset_group, do_create_asset_type, do_create_customer
    from rmmbridge.servicedesk.models import Asset, AuditEntry

    class Rollback(Exception):
        pass

    elapsed = 0.0
    try:
        with transaction.atomic():
            actor = Actor.system("bench")
            customer = do_create_customer(actor, "Floor customer")
            site = customer.sites.get()
            kind = do_create_asset_type(actor, "Floor type", do_create_asset_group(actor, "Floor group"))
            integration = Integration.objects.create(vendor="datto_rmm", name="floor")
            now = utcnow()
            started = time.perf_counter()
            for start in range(0, count, 1000):
                batch = [Asset(name=f"HOST-{i:07d}", asset_type=kind, site=site, customer=customer,
                               values={"operating_system": "Microsoft Windows 11 Pro",
                                       "ip_addresses": f"10.0.{i // 250 % 250}.{i % 250}, 203.0.113.1"})
                         for i in range(start, min(start + 1000, count))]
                created = Asset.objects.bulk_create(batch)
                ExternalRef.objects.bulk_create([
                    ExternalRef(integration=integration, kind="asset", external_id=f"uid-{a.pk}", object_id=a.pk,
                                fingerprint="f" * 40, first_seen=now, last_seen=now) for a in created])
                AuditEntry.objects.bulk_create([
                    AuditEntry(actor_label="bench", source="sync", object_type="asset", object_id=a.pk,
                               object_repr=a.name, action="create", changes={"name": [None, a.name]})
                    for a in created])
            elapsed = time.perf_counter() - started
            raise Rollback
    except Rollback:
        pass
    return elapsed


def _written_since(mark: Any, audit_before: int) -> dict[str, int]:
    from rmmbridge.integrations.models import ExternalRef
    from rmmbridge.servicedesk.models import Asset, AuditEntry

    return {
        "assets": Asset.objects.filter(updated_at__gt=mark).count(),
        "external_refs": ExternalRef.objects.filter(last_seen__gt=mark).count(),
        "audit_entries": AuditEntry.objects.count() - audit_before,
    }


def _database(postgres: str, devices: int) -> str:
    """Point Django at a fresh PostgreSQL database for this size ('' = SQLite in the bench's home)."""
    if not postgres:
        return ""
    import psycopg

    name = f"rmmbridge_bench_sync_{devices}_{os.getpid()}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = postgres.rsplit("/", 1)[0] + "/" + name
    return name


def child(devices: int, postgres: str = "") -> dict[str, Any]:
    home = tempfile.mkdtemp(prefix="rmmbridge-bench-sync-")
    os.environ["RMMBRIDGE_HOME"] = home
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    database = _database(postgres, devices)
    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from rmmbridge.common.clock import utcnow
    from rmmbridge.integrations.actions import do_create_integration
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.servicedesk.models import Asset, AuditEntry
    from rmmbridge.sync.runner import run_sync
    from sync_floors import WriteFloor, best_of

    writes = WriteFloor(connection.vendor, dict(connection.settings_dict))  # the migrated, empty schema
    emulator, credentials = _start_emulator(devices, home)
    try:
        integration = do_create_integration(Actor.cli("bench"), "datto_rmm", "Bench", credentials, test=False)
        load_before = os.getloadavg()[0]
        per_fetch = devices // PAGE + 4
        # the plain loop runs in its own process: its memory never counts in this one's (the sync's) peak RSS
        fetch_s, fetched, fetch_runs = best_of(3, lambda: _fetch_floor_process(credentials),
                                               lambda: _room_for(per_fetch), _phase_done)
        writes.mark()
        _room_for(per_fetch)
        import gc

        gc.collect()
        own_peak = _reset_peak()
        rss_start = _peak_mb(own_peak)  # Django, the project and the migrated database: what every run starts from
        started = time.perf_counter()
        first = run_sync(integration.pk, entities=["customers", "sites", "assets"])
        first_s = time.perf_counter() - started
        _phase_done()
        rss_first = _peak_mb(own_peak)
        mark, audits = utcnow(), AuditEntry.objects.count()
        resync_runs: list[float] = []
        gc.collect()
        _reset_peak()
        rss_before_resync = _peak_mb(own_peak)
        for _ in range(2):  # like the floor, the better of two runs (the machine is shared)
            _room_for(per_fetch)
            started = time.perf_counter()
            second = run_sync(integration.pk, entities=["customers", "sites", "assets"])
            resync_runs.append(time.perf_counter() - started)
            _phase_done()
        resync_s = min(resync_runs)
        rss_resync = _peak_mb(own_peak)
        written = _written_since(mark, audits)
        assets = Asset.objects.count()
        # the floors that need this process come after the syncs, so their memory is not in the syncs' figures
        write_s, written_first = writes.measure()  # the rows the first sync wrote (the resyncs wrote none)
        _room_for(per_fetch)
        old_fetch_s, _ = _old_connector_fetch(integration)
        _phase_done()
        old_orm_s = _old_orm_floor(fetched)
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
        writes.drop()
        if database:
            connection.close()
            import psycopg

            with psycopg.connect(postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{database}"')
    floor = fetch_s + write_s
    return {
        "devices": devices,
        "fetched": fetched,
        "assets_created": assets,
        "first_sync_status": first.status,
        "first_sync_s": round(first_s, 2),
        "fetch_floor_s": round(fetch_s, 2),
        "write_floor_s": round(write_s, 2),
        "first_sync_vs_sum_floor": round(first_s / floor, 2) if floor else None,
        "first_sync_vs_max_floor": round(first_s / max(fetch_s, write_s), 2) if floor else None,
        "first_sync_ms_per_device": round(first_s / devices * 1000, 3),
        "resync_status": second.status,
        "resync_s": round(resync_s, 2),
        "resync_vs_fetch_floor": round(resync_s / fetch_s, 2) if fetch_s else None,
        "resync_ms_per_device": round(resync_s / devices * 1000, 3),
        "resync_rows_written": sum(written.values()),
        "resync_rows_written_detail": written,
        "peak_rss_mb_first_sync": round(rss_first, 1),
        "rss_mb_before_first_sync": round(rss_start, 1),
        "peak_rss_mb_resync": round(rss_resync, 1),
        "rss_mb_before_resync": round(rss_before_resync, 1),
        "first_sync_rss_growth_mb": round(rss_first - rss_start, 1),
        "resync_rss_growth_mb": round(rss_resync - rss_before_resync, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_of": "the first sync and the resyncs alone (VmHWM reset before each; no floor ran before them "
        "in this process)" if own_peak else "the whole process (ru_maxrss)",
        "write_floor_rows": written_first,
        "fetch_floor_runs_s": [round(x, 2) for x in fetch_runs],
        "resync_runs_s": [round(x, 2) for x in resync_runs],
        "old_connector_fetch_s": round(old_fetch_s, 2),
        "old_orm_bulk_create_s": round(old_orm_s, 2),
        "old_first_sync_vs_floor": round(first_s / (old_fetch_s + old_orm_s), 2),
        "old_resync_vs_api_floor": round(resync_s / old_fetch_s, 2) if old_fetch_s else None,
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000", help="Comma-separated device counts.")
    parser.add_argument("--postgres", default="", help="A PostgreSQL server URL (its database is only used to "
                        "create and drop one fresh database per size); default: SQLite.")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fetch-floor", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.fetch_floor:
        from sync_floors import fetch_floor

        print(json.dumps(fetch_floor(json.loads(args.fetch_floor))))
        return
    if args.child:
        print(json.dumps(child(args.child, args.postgres)))
        return
    results = []
    for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
        command = [sys.executable, __file__, "--child", str(size)]
        if args.postgres:
            command += ["--postgres", args.postgres]
        out = subprocess.run(command, check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({
        "benchmark": "sync", "database": "postgresql" if args.postgres else "sqlite", "results": results,
        "first_sync_ms_per_device": [r["first_sync_ms_per_device"] for r in results],
        "resync_ms_per_device": [r["resync_ms_per_device"] for r in results],
        "targets": {"first_sync_vs_sum_floor_max": 1.3, "peak_rss_mb_max": 150, "resync_rows_written": 0,
                    "resync_vs_fetch_floor_max": 1.1},
    }, indent=2))


if __name__ == "__main__":
    main()
