"""Fixtures for the alerts tests: a small service desk with an asset linked to an integration."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import pytest

from rmmbridge.common.clock import utcnow

DATTO_FROM = "alerts@datto.example"


@dataclass
class Desk:
    customer: Any
    site: Any
    user: Any
    asset: Any
    other_customer: Any
    alert_user: Any
    integration: Any
    ticket_type: Any


def make_desk(vendor: str = "datto_rmm", name: str = "Datto", device_id: str = "dev-1",
              credentials: dict[str, str] | None = None) -> Desk:
    from rmmbridge.alerts.setup import enable_alerting
    from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
    from rmmbridge.servicedesk.actions import (
        Actor,
        AssetInput,
        do_create_asset_group,
        do_create_asset_type,
        do_create_customer,
        do_create_end_user,
        do_upsert_asset,
    )
    from rmmbridge.tickets.actions import do_create_ticket_type

    actor = Actor.cli("test")
    customer = do_create_customer(actor, "Harbourview Dental")
    site = customer.main_site
    user = do_create_end_user(actor, site, "Alex Morgan", email="alex@harbourview.example")
    group = do_create_asset_group(actor, "Computers")
    workstation = do_create_asset_type(actor, "Workstation", group)
    asset, _ = do_upsert_asset(actor, AssetInput(asset_type=workstation, site=site, name="HD-WS01", end_user=user))
    other = do_create_customer(actor, "Alert Catchall")
    alert_user = do_create_end_user(actor, other.main_site, "New Alert User")
    integration = Integration(vendor=vendor, name=name)
    if credentials is not None:
        integration.set_credentials(credentials)
    integration.save()
    now = utcnow()
    ExternalRef.objects.create(integration=integration, kind=RefKind.ASSET, external_id=device_id,
                               object_id=asset.pk, first_seen=now, last_seen=now)
    ticket_type = do_create_ticket_type(actor, "RMM Alert", default_priority=2)
    enable_alerting(integration, ticket_type=ticket_type, from_address=DATTO_FROM, new_alert_user=alert_user)
    return Desk(customer, site, user, asset, other, alert_user, integration, ticket_type)


@pytest.fixture
def desk(db: Any) -> Desk:
    return make_desk()


def datto_mail(uid: str, *, ip: str = "10.0.0.5", reason: str = "Disk C: below 10% free", host: str = "HD-WS01",
               sender: str = DATTO_FROM, message_id: str | None = None, prefix: str = "") -> bytes:
    """A Datto RMM alert e-mail: subject `Alert on device: <ip>, reason <alert> - Alert{<uid>}`."""
    msg = EmailMessage()
    msg["From"] = f"Datto RMM <{sender}>"
    msg["To"] = "alerts@servicedesk.example"
    msg["Subject"] = f"{prefix}Alert on device: {ip}, reason {reason} - Alert{{{uid}}}"
    msg["Date"] = formatdate()
    msg["Message-ID"] = message_id or make_msgid(domain="datto.example")
    msg.set_content(f"Device: {host}\nAlert: {reason}\nSite: Main\n")
    return msg.as_bytes()


@pytest.fixture(autouse=True)
def no_network_in_write_transaction(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Fail the test when any HTTP call (httpx, the connectors' client) is made inside a database transaction.

    Wraps the real httpx transport (nothing is mocked): before each request it checks the calling thread's
    Django connection. In a test without `transaction=True` the test itself runs inside a transaction, so there
    only other threads (the SMTP workers, the live server) are checked.
    """
    import threading

    import httpx
    from django.db import connection

    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and (marker.kwargs.get("transaction") or "transactional_db" in request.fixturenames
                                     or "live_server" in request.fixturenames))
    main = threading.get_ident()
    violations: list[str] = []
    real = httpx.HTTPTransport.handle_request

    def guarded(self: httpx.HTTPTransport, http_request: httpx.Request) -> httpx.Response:
        here = threading.get_ident()
        checked = transactional or here != main
        try:
            inside = checked and connection.connection is not None and connection.in_atomic_block
        except Exception:
            inside = False
        if inside:
            text = (f"{http_request.method} {http_request.url} was sent inside a database transaction "
                    f"(thread {threading.current_thread().name})")
            violations.append(text)
            if here == main:
                raise AssertionError(text)
        return real(self, http_request)

    patch = pytest.MonkeyPatch()
    patch.setattr(httpx.HTTPTransport, "handle_request", guarded)
    try:
        yield violations
    finally:
        patch.undo()
    assert violations == [], violations
