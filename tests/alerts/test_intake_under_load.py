"""Alert intake while the RMM is slow and the database busy: nothing lost, no 500, no network call in a transaction."""

from __future__ import annotations

import smtplib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from rmmbridge.alerts.intake.smtp import SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.tickets.models import Ticket

from .conftest import datto_mail, make_desk
from .test_webhooks import _payload, _url

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_SECONDS = 3.0
WEBHOOKS = 12


@pytest.fixture
def slow_rmm() -> Iterator[RunningEmulator]:
    """A Datto RMM whose alert listing (the device lookup of an e-mail alert) answers after SLOW_SECONDS."""
    faults = [f"slow:GET:/api/v2/account/alerts/*:times=0,delay={SLOW_SECONDS}"]
    with serve_emulator("datto_rmm", devices=3, alerts=0, customers=1, faults=faults) as running:
        yield running


def _raise_alert(emulator: RunningEmulator) -> str:
    device = emulator.state.device_at(1)
    assert device is not None
    answer = httpx.post(f"{emulator.url}/_emulator/alerts", json={"device_id": device.id, "message": "Disk"},
                        timeout=10)
    answer.raise_for_status()
    return str(answer.json()["alert_id"])


def test_webhooks_mail_and_login_go_through_while_an_smtp_alert_waits_on_a_slow_rmm(
    slow_rmm: RunningEmulator, live_server: object, admin_user: object, tmp_path: Path,
    no_network_in_write_transaction: list[str],
) -> None:
    desk = make_desk(credentials=dict(slow_rmm.credentials), device_id="not-in-the-rmm")
    alert_id = _raise_alert(slow_rmm)  # on a device that matches no asset: the mail makes intake ask the RMM
    secret = desk.integration.alerting.webhook_secret
    base = str(live_server)
    smtp_reply: list[tuple[int, bytes]] = []
    with SMTPReceiver("127.0.0.1", 0) as receiver:
        def send_mail() -> None:
            with smtplib.SMTP("127.0.0.1", receiver.port, timeout=60) as smtp:
                smtp.ehlo()
                smtp.mail("alerts@datto.example")
                smtp.rcpt("desk@example.com")
                smtp_reply.append(smtp.data(datto_mail(alert_id, host="UNKNOWN-PC")))

        mail_thread = threading.Thread(target=send_mail)
        mail_thread.start()
        while not any(k.startswith("GET /api/v2/account/alerts") for k in list(slow_rmm.state.requests_by_path)):
            threading.Event().wait(0.02)  # the SMTP worker is now waiting on the slow RMM
        answers: list[httpx.Response] = []

        def post_hook(n: int) -> None:
            answers.append(httpx.post(base + _url(desk), content=_payload(f"load-{n}"), timeout=60,
                                      headers={"X-Webhook-Secret": secret, "Content-Type": "application/json"}))

        hooks = [threading.Thread(target=post_hook, args=(n,)) for n in range(WEBHOOKS)]
        for hook in hooks:
            hook.start()
        eml = tmp_path / "alert.eml"
        eml.write_bytes(datto_mail("cli-1"))
        call_command("mail", "ingest", str(eml))  # the CLI while the SMTP worker waits on the RMM
        login = httpx.Client(base_url=base, timeout=30)
        form = login.get("/login/")
        token = login.cookies.get("csrftoken", "")
        logged_in = login.post("/login/", data={"username": "admin", "password": "admin-pass-123",
                                                "csrfmiddlewaretoken": token}, headers={"Referer": base + "/login/"})
        for hook in hooks:
            hook.join(60)
        mail_thread.join(60)
    assert form.status_code == 200
    assert logged_in.status_code in (200, 302), logged_in.text[:500]
    assert sorted(a.status_code for a in answers) == [202] * WEBHOOKS
    assert AlertEvent.objects.filter(channel="webhook").count() == WEBHOOKS
    assert Ticket.objects.filter(alert_key__startswith="load-").count() == WEBHOOKS
    assert Ticket.objects.filter(alert_key="cli-1").exists()
    assert smtp_reply
    assert smtp_reply[0][0] == 250
    smtp_event = AlertEvent.objects.get(channel="smtp")
    assert smtp_event.status == EventStatus.PROCESSED, smtp_event.reason
    assert no_network_in_write_transaction == []


def test_a_webhook_that_cannot_be_stored_gets_503_with_retry_after_and_is_stored_on_retry() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("holds SQLite's write lock from a second connection")
    desk = make_desk()
    secret = {"X-Webhook-Secret": desk.integration.alerting.webhook_secret}
    connection.ensure_connection()
    connection.connection.execute("PRAGMA busy_timeout = 200")
    blocker = sqlite3.connect(connection.settings_dict["NAME"], timeout=1, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the database
    try:
        refused = Client().post(_url(desk), _payload("locked-1"), content_type="application/json", headers=secret)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert refused.status_code == 503
    assert refused["Retry-After"] == "30"
    assert "send it again" in refused.json()["error"]
    assert AlertEvent.objects.count() == 0
    retried = Client().post(_url(desk), _payload("locked-1"), content_type="application/json", headers=secret)
    assert retried.status_code == 202
    assert AlertEvent.objects.get().status == EventStatus.PROCESSED
