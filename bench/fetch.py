"""Benchmark: stream 100,000 devices from the Datto RMM emulator over loopback; print JSON (speed, requests, RSS).

The emulator runs in a child process so the RSS figures are the fetching side's alone. Memory stays flat when the
RSS after 10,000 devices and after all of them are about the same.

    .venv/bin/python bench/fetch.py [--devices 100000] [--slug datto_rmm]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import httpx

from rmmbridge.connectors.http import RequestLog
from rmmbridge.connectors.opening import open_connector

CHILD = """
import json, sys, time
from rmmbridge.connectors.testing.server import make_state, serve_state
state = make_state(sys.argv[1], seed=1, customers=50, devices=int(sys.argv[2]), alerts=0)
with serve_state(state) as em:
    credentials = {**em.credentials, "fetch_audits": False} if sys.argv[1] == "datto_rmm" else em.credentials
    print(json.dumps({"url": em.url, "credentials": credentials}), flush=True)  # paging only, no audits
    while True:
        time.sleep(3600)
"""


def rss_mb() -> float:
    """Current resident set size of this process in MB."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--slug", default="datto_rmm")
    args = parser.parse_args()

    child = subprocess.Popen([sys.executable, "-c", CHILD, args.slug, str(args.devices)], stdout=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout is not None
        info = json.loads(child.stdout.readline())
        log = RequestLog()
        count = 0
        rss_at_10k = None
        rss_samples: dict[int, float] = {}
        started = time.perf_counter()
        with open_connector(args.slug, info["credentials"], request_log=log) as connector:
            for device in connector.iter_devices():
                count += 1 if device.external_id else 0
                if count == 10_000:
                    rss_at_10k = rss_mb()
                if count % 20_000 == 0:
                    rss_samples[count] = round(rss_mb(), 1)
            skipped = connector.skipped_records
        seconds = time.perf_counter() - started
        requests = httpx.get(f"{info['url']}/_emulator/state", timeout=30).json()["request_count"]
    finally:
        child.terminate()
        child.wait(10)
    print(json.dumps({
        "slug": args.slug,
        "devices": count,
        "skipped": skipped,
        "seconds": round(seconds, 2),
        "devices_per_s": round(count / seconds, 1),
        "requests": requests,
        "rss_mb_after_10k": round(rss_at_10k, 1) if rss_at_10k is not None else None,
        "rss_mb_at_end": round(rss_mb(), 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_mb_every_20k": rss_samples,
        "request_log_entries": len(log.entries()),
    }))


if __name__ == "__main__":
    main()
