"""Benchmark part of `bench/alerts.py --pipe`: one `rmmbridge mailgate` process per mail, over HTTP and via the spool.

A real `rmmbridge serve` (uvicorn, embedded spool drainer) on a fresh SQLite home; each mail is one new
process started the way an MTA's pipe transport starts it, with the message on stdin. The old path
(`rmmbridge mail ingest -`, Django started per mail) is measured on a few mails as the baseline, and a bare
`python -c pass` per mail as the floor no per-process pipe can beat.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_each(mails: list[bytes], command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Start one process per mail, one after the other (as an MTA with pipe concurrency 1); time each."""
    times: list[float] = []
    cpu_before = _children_cpu()
    started = time.monotonic()
    for raw in mails:
        one = time.monotonic()
        done = subprocess.run(command, input=raw, env=env, capture_output=True, check=False)
        times.append((time.monotonic() - one) * 1000)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[:3])} exited {done.returncode}: {done.stderr.decode()[-500:]}")
    elapsed = time.monotonic() - started
    return {
        "mails": len(mails),
        "seconds": round(elapsed, 2),
        "mails_per_s": round(len(mails) / elapsed, 1),
        "process_p50_ms": round(_percentile(times, 0.5), 1),
        "process_p99_ms": round(_percentile(times, 0.99), 1),
        "cpu_ms_per_mail": round((_children_cpu() - cpu_before) * 1000 / len(mails), 1),
    }


def _wait_for(check: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise SystemExit("timed out waiting for the service")
        time.sleep(0.02)
    return time.monotonic()


def run_pipe(count: int, baseline: int, make_mail: Callable[[int], bytes]) -> dict[str, Any]:
    """HTTP mode, spool mode and the `mail ingest` baseline; the Django test home is already set up."""
    from django.contrib.auth import get_user_model
    from django.db import connections

    from rmmbridge.alerts.models import AlertEvent, EventStatus
    from rmmbridge.api.tokens import do_create_token
    from rmmbridge.common.home import resolve_home
    from rmmbridge.common.spool import ensure, pending_names, spool_root
    from rmmbridge.servicedesk.actions import Actor
    from rmmbridge.tickets.models import Ticket

    home = resolve_home()
    user = get_user_model().objects.create_superuser("mailgate", "mailgate@example.com", "bench-unused-pw")
    _token, raw_token = do_create_token(Actor.cli("bench"), user, scope="write", name="bench mailgate")
    token_file = home / "mailgate.token"
    token_file.write_text(raw_token + "\n")
    root = ensure(spool_root(home))
    connections.close_all()
    env = {**os.environ, "RMMBRIDGE_HOME": str(home), "RMMBRIDGE_SPOOL_POLL_SECONDS": "0.1",
           "RMMBRIDGE_LOG_LEVEL": "WARNING"}
    port = _free_port()
    server = subprocess.Popen([str(BIN / "rmmbridge"), "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    result: dict[str, Any] = {}
    try:
        _wait_for(lambda: _port_open(port), 60)
        gate = [str(BIN / "rmmbridge"), "mailgate", "-q"]
        http_mails = [make_mail(n) for n in range(count)]
        result["http"] = _run_each(http_mails, [*gate, "--url", f"http://127.0.0.1:{port}", "--token-file",
                                                str(token_file)], env)
        result["http"]["tickets"] = Ticket.objects.count()
        before_tickets = Ticket.objects.count()
        before_done = AlertEvent.objects.exclude(status=EventStatus.PENDING).count()
        spool_mails = [make_mail(count + n) for n in range(count)]
        spool_started = time.monotonic()
        result["spool"] = _run_each(spool_mails, [*gate, "--spool", root], env)
        # Drained when every spooled mail is a processed event (not one ticket each: a storm of one condition
        # on a site shares a parent ticket).
        drained_at = _wait_for(lambda: not pending_names(root, 1) and AlertEvent.objects.exclude(
            status=EventStatus.PENDING).count() >= before_done + count, 300)
        result["spool"]["end_to_end_mails_per_s"] = round(count / (drained_at - spool_started), 1)
        result["spool"]["tickets"] = Ticket.objects.count() - before_tickets
    finally:
        server.terminate()
        server.wait(30)
    connections.close_all()
    # The floor of any one-process-per-mail pipe: starting this Python and exiting (no import, no work).
    result["python_start_floor"] = _run_each([b""] * min(count, 100), [sys.executable, "-c", "pass"], env)
    if baseline:
        events_before = AlertEvent.objects.count()
        old = [make_mail(3 * count + n) for n in range(baseline)]
        result["mail_ingest_baseline"] = _run_each(old, [str(BIN / "rmmbridge"), "mail", "ingest", "-"], env)
        result["mail_ingest_baseline"]["events"] = AlertEvent.objects.count() - events_before
    return result


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
