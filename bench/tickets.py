"""Benchmark: ticket actions (open, repeat, close) and the ticket list page on SQLite; prints JSON."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _timed(count: int, step: Callable[[int], Any]) -> dict[str, float]:
    """Run step(i) count times; return throughput and latency percentiles in milliseconds."""
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        step(i)
        latencies.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "count": count,
        "per_second": round(count / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2], 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", type=int, default=1000, help="Tickets opened, repeated and closed one by one.")
    parser.add_argument("--tickets", type=int, default=10_000, help="Tickets in the database for the list page.")
    args = parser.parse_args()

    os.environ["RMMBRIDGE_HOME"] = tempfile.mkdtemp(prefix="rmmbridge-bench-tickets-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rmmbridge.servicedesk.actions import (
        Actor,
        AssetInput,
        do_create_asset_group,
        do_create_asset_type,
        do_create_customer,
        do_upsert_asset,
    )
    from rmmbridge.tickets.actions import do_add_note, do_close_ticket, do_create_ticket_type, do_open_ticket
    from rmmbridge.tickets.choices import TicketSource, TicketStatus
    from rmmbridge.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    actor = Actor.system("bench")
    customer = do_create_customer(actor, "Bench Customer")
    site = customer.main_site
    assert site is not None
    asset_type = do_create_asset_type(actor, "Workstation", do_create_asset_group(actor, "Computers"))
    asset, _ = do_upsert_asset(actor, AssetInput(asset_type=asset_type, site=site, name="BENCH-PC-01"))
    alert_type = do_create_ticket_type(actor, "RMM Alert", default_priority=2)

    opened: list[Ticket] = []

    def open_one(i: int) -> None:
        opened.append(do_open_ticket(actor, summary=f"Disk C: almost full #{i}", details="Free space below 5%.",
                                     ticket_type=alert_type, customer=customer, site=site, assets=[asset],
                                     source=TicketSource.EMAIL, alert_key=f"bench:{i}"))

    result: dict[str, Any] = {"database": connection.vendor, "open_ticket": _timed(args.ops, open_one)}
    result["repeat_note"] = _timed(args.ops, lambda i: do_add_note(actor, opened[i], "Again.", count_occurrence=True))
    result["close_ticket"] = _timed(args.ops, lambda i: do_close_ticket(actor, opened[i], note="Resolved."))

    filler = args.tickets - Ticket.objects.count()
    if filler > 0:
        Ticket.objects.bulk_create(
            [Ticket(summary=f"Filler alert {i}", ticket_type=alert_type, customer=customer, site=site,
                    status=TicketStatus.OPEN if i % 3 else TicketStatus.CLOSED, alert_key=f"filler:{i}")
             for i in range(filler)],
            batch_size=2000,
        )
    user = get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client()
    client.force_login(user)
    pages: dict[str, Any] = {}
    cases: dict[str, dict[str, Any]] = {
        "default": {},
        "all_page_50": {"status": "all", "page": "50"},
        "search": {"q": "almost full #99", "status": "all"},
        "customer_type_source": {"customer": customer.pk, "ticket_type": alert_type.pk, "source": "email",
                                 "status": "all"},
    }
    for label, params in cases.items():
        timings = []
        for _ in range(10):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get("/tickets/", params)
                timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        pages[label] = {"median_ms": round(statistics.median(timings), 1), "queries": len(queries.captured_queries)}
    result["list_page"] = {"tickets": Ticket.objects.count(), **pages}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
