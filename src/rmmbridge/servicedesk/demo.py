"""Demo step: a realistic sample service desk (customers, sites, users, asset types, fields, assets)."""

from __future__ import annotations

import random
from typing import Any

from django.db import transaction

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_end_user,
    do_create_field_definition,
    do_create_site,
    do_create_toplevel,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import AssetType, Customer, FieldKind

CUSTOMERS = {
    "Managed Clients": [
        ("Harbourview Dental Ltd", ["Harbour Street", "Northgate Clinic"]),
        ("Kestrel Logistics Inc", ["Depot 1", "Depot 2", "Head Office"]),
        ("Brightwater Accountants LLP", ["Main Office"]),
    ],
    "Projects": [
        ("Oakridge Primary School", ["Campus"]),
        ("Meridian Architects", ["Studio"]),
    ],
}
PEOPLE = ["Alex Morgan", "Sam Patel", "Jordan Lee", "Casey Nguyen", "Riley Evans", "Taylor Brooks", "Jamie Fox"]
TYPES = {"Computers": ["Workstation", "Laptop", "Server"], "Network": ["Router", "Switch", "Printer"]}
FIELDS = [
    ("hostname", "Hostname", FieldKind.ASSET_FIELD, "text"),
    ("serial_number", "Serial number", FieldKind.ASSET_FIELD, "text"),
    ("operating_system", "Operating system", FieldKind.ASSET_FIELD, "text"),
    ("manufacturer", "Manufacturer", FieldKind.ASSET_FIELD, "text"),
    ("model", "Model", FieldKind.ASSET_FIELD, "text"),
    ("ip_addresses", "IP addresses", FieldKind.ASSET_FIELD, "text"),
    ("mac_addresses", "MAC addresses", FieldKind.ASSET_FIELD, "text"),
    ("last_seen", "Last seen", FieldKind.ASSET_FIELD, "datetime"),
    ("warranty_end", "Warranty end", FieldKind.CUSTOM_FIELD, "date"),
    ("ram_gb", "RAM (GB)", FieldKind.CUSTOM_FIELD, "integer"),
]


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())[:6]


@transaction.atomic
def run(out: Any) -> None:
    """Create the sample service desk once; a second run changes nothing."""
    if Customer.objects.filter(name="Harbourview Dental Ltd").exists():
        out.write("Sample service desk already present.")
        return
    actor = Actor.system("demo")
    rng = random.Random(7)
    types: dict[str, AssetType] = {}
    for group_name, type_names in TYPES.items():
        group = do_create_asset_group(actor, group_name)
        for type_name in type_names:
            types[type_name] = do_create_asset_type(actor, type_name, group)
    for name, label, kind, dtype in FIELDS:
        do_create_field_definition(actor, name, label=label, kind=kind, data_type=dtype, asset_types=types.values())
    serial = 1000
    for toplevel_name, customers in CUSTOMERS.items():
        toplevel = do_create_toplevel(actor, toplevel_name)
        for customer_name, site_names in customers:
            customer = do_create_customer(actor, customer_name, toplevel=toplevel, main_site_name=site_names[0])
            sites = [customer.main_site] + [do_create_site(actor, customer, s) for s in site_names[1:]]
            domain = _slug(customer_name) + ".example"
            for site in sites:
                assert site is not None
                users = [
                    do_create_end_user(
                        actor, site, person, email=f"{person.split()[0].lower()}.{_slug(site.name)}@{domain}"
                    )
                    for person in rng.sample(PEOPLE, 3)
                ]
                for index in range(rng.randint(4, 8)):
                    type_name = rng.choice(["Workstation", "Workstation", "Laptop", "Server", "Printer", "Switch"])
                    serial += 1
                    hostname = f"{_slug(customer_name).upper()}-{type_name[:2].upper()}{index + 1:02d}"
                    do_upsert_asset(
                        actor,
                        AssetInput(
                            asset_type=types[type_name],
                            site=site,
                            name=hostname,
                            asset_tag=f"AT-{serial}",
                            end_user=rng.choice(users) if type_name in {"Workstation", "Laptop"} else None,
                            values={
                                "hostname": hostname,
                                "serial_number": f"SN{serial:07d}",
                                "operating_system": (
                                    "Windows Server 2022" if type_name == "Server" else "Windows 11 Pro"
                                ),
                                "manufacturer": rng.choice(["Dell Inc.", "HP", "Lenovo"]),
                                "ip_addresses": f"10.{rng.randint(0, 20)}.{rng.randint(0, 254)}.{rng.randint(2, 254)}",
                                "CFwarranty_end": f"202{rng.randint(6, 9)}-0{rng.randint(1, 9)}-15",
                                "CFram_gb": rng.choice([8, 16, 32]),
                            },
                        ),
                    )
    out.write("Created the sample service desk.")
