"""The dashboard: each integration's state, last sync, last alert per channel, what needs the admin, alert tickets."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from rmmbridge.alerts.models import AlertEvent, ResolveOutbox
from rmmbridge.integrations import actions
from rmmbridge.servicedesk.actions import Actor, do_create_customer
from rmmbridge.sync.models import SyncRun
from rmmbridge.tickets.actions import do_create_ticket_type, do_open_ticket
from rmmbridge.tickets.choices import TicketSource

ACTOR = Actor.cli("test")


@pytest.mark.django_db
def test_dashboard_shows_integration_states_and_what_needs_doing(admin_client: Any) -> None:
    creds = {"api_url": "http://127.0.0.1:9", "api_key": "k", "api_secret": "s"}
    healthy = actions.do_create_integration(ACTOR, "datto_rmm", "Healthy Datto", creds, test=False)
    healthy.status = "ok"
    healthy.save()
    expired = actions.do_create_integration(ACTOR, "datto_rmm", "Expired Datto", {**creds, "api_key": "k2"},
                                            test=False)
    actions.do_mark_needs_reauth(expired, "401 Unauthorized")
    now = timezone.now()
    SyncRun.objects.create(integration=healthy, started_at=now, finished_at=now, status="success")
    guarded = SyncRun.objects.create(integration=healthy, started_at=now, status="needs_confirmation")
    AlertEvent.objects.create(channel="poll", integration=healthy, received_at=now, raw=b"{}", summary="poll")
    ResolveOutbox.objects.create(integration=healthy, external_id="a-1", next_attempt_at=now, created_at=now)
    kestrel = do_create_customer(ACTOR, "Kestrel Logistics Inc")
    alerts = do_create_ticket_type(ACTOR, "RMM Alert")
    for n in range(2):
        do_open_ticket(ACTOR, summary=f"Disk {n}", ticket_type=alerts, customer=kestrel, source=TicketSource.POLL)
    do_open_ticket(ACTOR, summary="Manual", ticket_type=alerts, customer=do_create_customer(ACTOR, "Other"))

    html = admin_client.get("/").content.decode()
    assert "needs re-authentication" in html
    assert "guard waiting for confirmation" in html
    assert "Enter new credentials and test them" in html
    assert f"/integrations/{expired.pk}/" in html
    assert f"/sync/runs/{guarded.pk}/" in html
    assert "1 alert resolve(s) waiting to reach the RMM" in html
    assert f"Poll: {timezone.localtime(now):%Y-%m-%d %H:%M}" in html
    section = html.split('id="alert-tickets"')[1]
    assert "Kestrel Logistics Inc" in section
    assert "<td>2</td>" in section
    assert "Other" not in section  # a manual ticket is not an alert ticket
