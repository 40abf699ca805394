"""Benchmark: alert e-mails through the SMTP receiver into tickets on SQLite; throughput and accept→commit latency.

Two phases: (1) `--count` Datto alert e-mails sent as fast as `--senders` SMTP connections allow (throughput);
(2) `--paced` e-mails offered at `--rate` per second (p50/p99 from SMTP accept to ticket commit). Prints JSON.
Targets (issue 16): ≥ 500 alerts/s with 4 senders; p99 ≤ 50 ms at an offered 50 alerts/s.
`--pipe` measures the mail pipe instead (`bench/mail_pipe.py`): ≥ 20 mails/s, one mailgate process per mail.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import smtplib
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

SENDER = "noreply@centrastage.net"


def _mail(n: int, host: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Datto RMM <{SENDER}>"
    msg["To"] = "alerts@desk.example"
    msg["Subject"] = f"Alert on device: 10.1.{n % 250}.{n % 200}, reason Disk C: below 10% free - Alert{{bench-{n}}}"
    msg["Date"] = formatdate()
    msg["Message-ID"] = f"<bench-{n}@centrastage.example>"
    msg.set_content(f"Device: {host}\nSite: Main\nAlert: Disk C: below 10% free\nStatus: Open\n")
    return msg.as_bytes()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def _setup(assets: int) -> list[str]:
    from django.core.management import call_command

    from rmmbridge.alerts.setup import enable_alerting
    from rmmbridge.common.clock import utcnow
    from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
    from rmmbridge.servicedesk.actions import (
        Actor,
        do_create_asset_group,
        do_create_asset_type,
        do_create_customer,
        do_create_end_user,
    )
    from rmmbridge.servicedesk.models import Asset
    from rmmbridge.tickets.actions import do_create_ticket_type

    call_command("migrate", verbosity=0)
    actor = Actor.cli("bench")
    group = do_create_asset_group(actor, "Computers")
    workstation = do_create_asset_type(actor, "Workstation", group)
    integration = Integration.objects.create(vendor="datto_rmm", name="Bench Datto")
    hosts: list[str] = []
    rows: list[Asset] = []
    for c in range(10):
        customer = do_create_customer(actor, f"Customer {c}")
        site = customer.main_site
        assert site is not None
        user = do_create_end_user(actor, site, f"User {c}")
        for a in range(assets // 10):
            host = f"C{c}-WS{a:04d}"
            hosts.append(host)
            rows.append(Asset(asset_type=workstation, site=site, customer=customer, end_user=user, name=host,
                              values={"hostname": host}))
    created = Asset.objects.bulk_create(rows, batch_size=500)
    now = utcnow()
    ExternalRef.objects.bulk_create([
        ExternalRef(integration=integration, kind=RefKind.ASSET, external_id=f"dev-{a.pk}", object_id=a.pk,
                    first_seen=now, last_seen=now) for a in created
    ], batch_size=500)
    ticket_type = do_create_ticket_type(actor, "RMM Alert")
    enable_alerting(integration, ticket_type=ticket_type, from_address=SENDER)
    return hosts


def _send(port: int, mails: list[bytes], pace: float | None = None) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        start = time.monotonic()
        for i, raw in enumerate(mails):
            if pace:
                wait = start + i * pace - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            smtp.sendmail(SENDER, ["alerts@desk.example"], raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="E-mails for the throughput phase.")
    parser.add_argument("--senders", type=int, default=4, help="Concurrent SMTP connections (throughput phase).")
    parser.add_argument("--paced", type=int, default=1000, help="E-mails for the latency phase.")
    parser.add_argument("--rate", type=float, default=50.0, help="Offered e-mails per second (latency phase).")
    parser.add_argument("--assets", type=int, default=2000, help="Assets (devices) the alerts land on.")
    parser.add_argument("--pipe", action="store_true",
                        help="Instead: one `rmmbridge mailgate` process per mail, over HTTP and via the spool.")
    parser.add_argument("--pipe-count", type=int, default=300, help="E-mails per mailgate mode (--pipe).")
    parser.add_argument("--baseline", type=int, default=20, help="E-mails through `mail ingest -` (--pipe).")
    args = parser.parse_args()

    os.environ["RMMBRIDGE_HOME"] = tempfile.mkdtemp(prefix="rmmbridge-bench-alerts-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    import logging

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from rmmbridge.alerts.intake.smtp import Delivery, SMTPReceiver
    from rmmbridge.alerts.models import AlertEvent
    from rmmbridge.tickets.models import Ticket

    hosts = _setup(args.assets)
    if args.pipe:
        from mail_pipe import run_pipe

        piped = run_pipe(args.pipe_count, args.baseline, lambda n: _mail(n, hosts[n % len(hosts)]))
        piped["targets"] = {"mailgate_http_mails_per_s>=20": piped["http"]["mails_per_s"] >= 20,
                            "mailgate_spool_mails_per_s>=20": piped["spool"]["mails_per_s"] >= 20}
        print(json.dumps({"database": "sqlite", "assets": len(hosts), **piped}, indent=2))
        return
    deliveries: list[Delivery] = []
    lock = threading.Lock()

    def record(delivery: Delivery) -> None:
        with lock:
            deliveries.append(delivery)

    result: dict[str, Any] = {"database": "sqlite", "assets": len(hosts)}
    with SMTPReceiver("127.0.0.1", 0, on_delivery=record) as receiver:
        mails = [_mail(n, hosts[n % len(hosts)]) for n in range(args.count)]
        chunks = [mails[i::args.senders] for i in range(args.senders)]
        # Senders run in their own processes, as real mail servers would: the receiver's process is measured alone.
        context = multiprocessing.get_context("spawn")
        senders = [context.Process(target=_send, args=(receiver.port, chunk)) for chunk in chunks]
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        for p in senders:
            p.start()
        for p in senders:
            p.join()
        # In a burst a message is answered once stored: wait until every one is processed (its delivery recorded).
        deadline = time.monotonic() + 600
        while len(deliveries) < args.count and time.monotonic() < deadline:
            time.sleep(0.01)
        elapsed = time.monotonic() - started
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        receiver_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        if any(p.exitcode for p in senders):
            raise SystemExit("An SMTP sender failed; see the error above.")
        if len(deliveries) < args.count:
            raise SystemExit(f"Only {len(deliveries)} of {args.count} messages were processed within 10 minutes.")
        burst = [(d.committed_at - d.accepted_at) * 1000 for d in deliveries]
        # From the first SMTP accept to the last ticket commit (sender process start-up left out).
        busy = max(d.committed_at for d in deliveries) - min(d.accepted_at for d in deliveries)
        tickets = Ticket.objects.count()
        result["throughput"] = {
            "emails": args.count,
            "senders": args.senders,
            "seconds": round(busy, 2),
            "wall_seconds_with_sender_startup": round(elapsed, 2),
            "alerts_per_s": round(args.count / busy, 1),
            # CPU the receiver's process used per alert (SMTP, store, rules, ticket): the machine-independent cost.
            "receiver_cpu_ms_per_alert": round(receiver_cpu * 1000 / args.count, 3),
            "tickets": tickets,
            "events": AlertEvent.objects.count(),
            # Answered once stored, without waiting for processing (another message was already waiting for it).
            "answered_before_processing": receiver.handler.answered_early,
            "largest_stored_batch": receiver.handler.largest_batch,
            "largest_processed_batch": receiver.handler.largest_processed,
            "p50_ms": round(_percentile(burst, 0.50), 2),
            "p99_ms": round(_percentile(burst, 0.99), 2),
        }
        deliveries.clear()
        paced = [_mail(args.count + n, hosts[n % len(hosts)]) for n in range(args.paced)]
        started = time.monotonic()
        _send(receiver.port, paced, pace=1.0 / args.rate)
        elapsed = time.monotonic() - started
        while len(deliveries) < args.paced and time.monotonic() < started + 600:
            time.sleep(0.01)
        latencies = [(d.committed_at - d.accepted_at) * 1000 for d in deliveries]
        result["latency"] = {
            "emails": args.paced,
            "offered_per_s": args.rate,
            "achieved_per_s": round(args.paced / elapsed, 1),
            "p50_ms": round(_percentile(latencies, 0.50), 2),
            "p99_ms": round(_percentile(latencies, 0.99), 2),
            "max_ms": round(max(latencies, default=0.0), 2),
        }
    result["targets"] = {
        "alerts_per_s>=500": result["throughput"]["alerts_per_s"] >= 500,
        "p99_ms<=50_at_50/s": result["latency"]["p99_ms"] <= 50,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
