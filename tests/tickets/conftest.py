"""Fixtures for the tickets tests: a customer with a site, a user and an asset, and a ticket type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from rmmbridge.servicedesk.actions import (
    Actor,
    AssetInput,
    do_create_asset_group,
    do_create_asset_type,
    do_create_customer,
    do_create_end_user,
    do_upsert_asset,
)
from rmmbridge.servicedesk.models import Asset, Customer, EndUser, Site
from rmmbridge.tickets.actions import do_create_ticket_type, do_open_ticket
from rmmbridge.tickets.models import Ticket, TicketType

SYSTEM = Actor.system("tests")


@dataclass
class Desk:
    """A small service desk: two customers, each with a main site, a user and a workstation."""

    acme: Customer
    acme_site: Site
    acme_user: EndUser
    acme_pc: Asset
    other: Customer
    other_site: Site
    other_user: EndUser
    other_pc: Asset
    alert_type: TicketType
    incident: TicketType

    def open(self, summary: str = "Disk C: almost full", **kwargs: Any) -> Ticket:
        actor = kwargs.pop("actor", SYSTEM)
        args: dict[str, Any] = {
            "summary": summary, "ticket_type": self.alert_type, "customer": self.acme,
            "site": self.acme_site, "end_user": self.acme_user, "assets": [self.acme_pc],
        }
        args.update(kwargs)
        return do_open_ticket(actor, **args)


@pytest.fixture
def desk(db: Any) -> Desk:
    group = do_create_asset_group(SYSTEM, "Computers")
    workstation = do_create_asset_type(SYSTEM, "Workstation", group)
    acme = do_create_customer(SYSTEM, "Acme Ltd")
    other = do_create_customer(SYSTEM, "Globex")
    acme_site = Site.objects.get(customer=acme, is_main=True)
    other_site = Site.objects.get(customer=other, is_main=True)
    acme_user = do_create_end_user(SYSTEM, acme_site, "Alice Smith", email="alice@acme.example")
    other_user = do_create_end_user(SYSTEM, other_site, "Bob Jones", email="bob@globex.example")
    acme_pc, _ = do_upsert_asset(SYSTEM, AssetInput(asset_type=workstation, site=acme_site, name="ACME-PC-01",
                                                    asset_tag="A-001", end_user=acme_user))
    other_pc, _ = do_upsert_asset(SYSTEM, AssetInput(asset_type=workstation, site=other_site, name="GLX-PC-07"))
    return Desk(
        acme=acme, acme_site=acme_site, acme_user=acme_user, acme_pc=acme_pc,
        other=other, other_site=other_site, other_user=other_user, other_pc=other_pc,
        alert_type=do_create_ticket_type(SYSTEM, "RMM Alert", default_priority=2),
        incident=do_create_ticket_type(SYSTEM, "Incident"),
    )
