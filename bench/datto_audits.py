"""Benchmark: a first Datto RMM sync with audits, then a no-change resync, against the emulator; print JSON.

The account's 600-per-60-s and the audits' 500-per-60-s limiters run on a simulated clock, so the pacing is the
real one but nobody waits for it: `paced_minutes` is how long the first sync takes against Datto, `max_in_60s` the
most requests the client sent in any rolling 60 s (target ≤ 540, 90 % of the quota). Targets: coverage ≥ 0.95 of
live agents with serial, make and model; `resync_audit_requests` = 0; `changed_audit_requests` = 1.

    .venv/bin/python bench/datto_audits.py [--devices 2000]
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import time

import httpx

from rmmbridge.connectors import ratelimit
from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.connector import DattoRmmConnector
from rmmbridge.connectors.opening import open_connector
from rmmbridge.connectors.ratelimit import RollingWindowLimiter
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator


class SimulatedClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.stamps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def audit_requests(emulator: RunningEmulator) -> int:
    return sum(n for key, n in emulator.state.requests_by_path.items() if " /api/v2/audit/" in key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devices", type=int, default=2000)
    args = parser.parse_args()
    with serve_emulator(const.SLUG, seed=1, customers=max(args.devices // 100, 5), devices=args.devices,
                        alerts=0) as emulator:
        emulator.state.rate_limit_per_minute = None  # type: ignore[misc]  # the client's limiters pace alone
        clock = SimulatedClock()
        secrets = sorted([emulator.credentials["api_key"], emulator.credentials["api_secret"]])
        account = hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]
        limiter = RollingWindowLimiter(const.RATE_LIMIT_PER_MINUTE, 60.0, clock=clock, sleep=clock.sleep)
        acquire = limiter.acquire

        def counted() -> float:
            waited = acquire()
            clock.stamps.append(clock.now)
            return waited

        limiter.acquire = counted  # type: ignore[method-assign]
        with ratelimit._LIMITERS_LOCK:
            ratelimit._LIMITERS[(const.SLUG, emulator.url, account)] = limiter
        audit_limiter = RollingWindowLimiter(const.AUDITS_PER_MINUTE, 60.0, clock=clock, sleep=clock.sleep)

        def run(state: dict[str, object] | None) -> tuple[list[object], dict[str, object] | None, float, float]:
            started, cpu = time.perf_counter(), time.process_time()
            with open_connector(const.SLUG, emulator.credentials) as connector:
                assert isinstance(connector, DattoRmmConnector)
                connector.clock = clock
                connector.audit_limiter = audit_limiter
                if state:
                    connector.load_state(state)
                devices: list[object] = list(connector.iter_devices())
                dumped = connector.dump_state() or state
            return devices, dumped, time.perf_counter() - started, time.process_time() - cpu

        devices, state, first_s, first_cpu = run(None)
        first_audits = audit_requests(emulator)
        paced_minutes = clock.now / 60
        stamps = clock.stamps
        window = max((bisect.bisect_left(stamps, stamps[i] + 60.0) - i for i in range(len(stamps))), default=0)
        agents = [d for d in devices if getattr(d, "fields", {}).get("deviceClass") == "device"
                  and not getattr(d, "deleted", False)]
        complete = [d for d in agents if getattr(d, "serial_number", None) and getattr(d, "manufacturer", None)
                    and getattr(d, "model", None)]
        _, state, resync_s, _ = run(state)
        resync_audits = audit_requests(emulator) - first_audits
        target = next(d for d in emulator.state.iter_devices() if d.kind == "laptop" and not d.deleted)
        httpx.patch(f"{emulator.url}/_emulator/devices/{target.id}", json={"serial_number": "BENCH-NEW"})
        before = audit_requests(emulator)
        run(state)
        print(json.dumps({
            "devices": len(devices),
            "live_agents": len(agents),
            "coverage": round(len(complete) / len(agents), 4) if agents else None,
            "first_sync_audit_requests": first_audits,
            "first_sync_wall_s": round(first_s, 2),
            "first_sync_cpu_ms_per_audit": round(first_cpu * 1000 / first_audits, 3) if first_audits else None,
            "paced_minutes": round(paced_minutes, 1),
            "max_in_60s": window,
            "resync_audit_requests": resync_audits,
            "resync_wall_s": round(resync_s, 2),
            "changed_audit_requests": audit_requests(emulator) - before,
        }, indent=2))


if __name__ == "__main__":
    main()
