"""Benchmark: the asset list page with 100,000 assets on SQLite (filters, search, page 1, a deep page); JSON."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from typing import Any

TYPES = ["Workstation", "Laptop", "Server", "Printer", "Switch"]


def _populate(total: int, customers: int) -> dict[str, Any]:
    """Customers with two sites each, five types, text/number fields, and `total` assets (bulk, audited)."""
    from rmmbridge.servicedesk.actions import (
        Actor,
        do_bulk_create_assets,
        do_create_asset_group,
        do_create_asset_type,
        do_create_customer,
        do_create_field_definition,
        do_create_site,
        field_definitions,
        validate_values,
    )
    from rmmbridge.servicedesk.models import Asset

    actor = Actor.system("bench")
    group = do_create_asset_group(actor, "Devices")
    types = [do_create_asset_type(actor, name, group) for name in TYPES]
    for name, dtype in (("hostname", "text"), ("serial_number", "text"), ("os", "text"), ("ram_gb", "integer")):
        do_create_field_definition(actor, name, data_type=dtype, asset_types=types)
    sites = []
    for c in range(customers):
        customer = do_create_customer(actor, f"Customer {c:04d}")
        sites += [customer.main_site, do_create_site(actor, customer, "Branch")]
    definitions = field_definitions()
    batch: list[Asset] = []
    started = time.perf_counter()
    for i in range(total):
        site = sites[i % len(sites)]
        values = validate_values({"hostname": f"host-{i:06d}", "serial_number": f"SN{i * 7919 % 10**8:08d}",
                                  "os": "Windows 11 Pro", "ram_gb": 16}, definitions)
        batch.append(Asset(asset_type=types[i % len(types)], site=site, customer_id=site.customer_id,
                           name=f"PC-{i:06d}", asset_tag=f"AT{i:06d}", active=i % 20 != 0, values=values))
        if len(batch) == 5000:
            do_bulk_create_assets(actor, batch)
            batch = []
    if batch:
        do_bulk_create_assets(actor, batch)
    return {"seconds": round(time.perf_counter() - started, 1), "sites": sites, "types": types}


def _measure(client: Any, params: dict[str, Any], runs: int, headers: dict[str, str] | None = None) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    queries = 0
    rows = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get("/assets/", params, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
        rows = response.content.decode().count('<td><a href="/assets/')
    return {"params": params, "median_ms": round(statistics.median(timings), 1), "max_ms": round(max(timings), 1),
            "queries": queries, "rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000, help="Assets in the database.")
    parser.add_argument("--customers", type=int, default=200, help="Customers (two sites each).")
    parser.add_argument("--runs", type=int, default=5, help="Requests per scenario (median reported).")
    args = parser.parse_args()

    os.environ["RMMBRIDGE_HOME"] = tempfile.mkdtemp(prefix="rmmbridge-bench-assets-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    call_command("migrate", verbosity=0, interactive=False)
    estate = _populate(args.assets, args.customers)
    user = get_user_model().objects.create_superuser("bench", "", "bench-pass-123")
    client = Client()
    client.force_login(user)
    client.get("/assets/")  # warm caches and the session
    site, asset_type = estate["sites"][3], estate["types"][3]  # asset i lands on site i % sites, type i % 5
    deep_page = max(1, int(args.assets * 0.9 / 50))  # 95% are active: near the end of the active list
    scenarios = {
        "page_1": {},
        "deep_page": {"page": deep_page},
        "customer": {"customer": site.customer_id},
        "site_type_any": {"site": site.pk, "type": asset_type.pk, "active": "any"},
        "inactive": {"active": "no"},
        "search_serial": {"q": f"SN{4242 * 7919 % 10**8:08d}"},
        "search_hostname_prefix": {"q": "host-0999"},
        "search_no_match": {"q": "zz-nothing"},
        "customer_page_2": {"customer": site.customer_id, "page": 2},
    }
    results = {name: _measure(client, params, args.runs) for name, params in scenarios.items()}
    results["htmx_search_serial"] = _measure(client, scenarios["search_serial"], args.runs, {"HX-Request": "true"})
    print(json.dumps({
        "benchmark": "assets_list",
        "database": "sqlite",
        "assets": args.assets,
        "customers": args.customers,
        "populate_seconds": estate["seconds"],
        "page_size": 50,
        "scenarios": results,
    }, indent=2))


if __name__ == "__main__":
    main()
