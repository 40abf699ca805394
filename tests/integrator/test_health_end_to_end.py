"""Integration health end to end: the Datto emulator's alert e-mails stop, polls go on, the admins get one e-mail."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from django.urls import reverse
from freezegun import freeze_time

from rmmbridge.alerts.intake.smtp import SMTPReceiver
from rmmbridge.common.clock import utcnow
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrator import integration_health, tasks
from rmmbridge.integrator.models import HealthProblem, JobRun

START = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
# Threads and libraries that must keep the real clock (event loops, sockets, HTTP timeouts).
REAL_CLOCK = ["asyncio", "uvicorn", "starlette", "anyio", "httpx", "httpcore", "aiosmtpd", "smtplib", "socket",
              "threading", "concurrent", "selectors", "pydantic", "pydantic_core", "rmmbridge.connectors"]


@pytest.fixture(autouse=True)
def _fresh_learnt_gaps() -> Iterator[None]:
    """Learnt gaps are cached per process by integration id; ids repeat between tests."""
    integration_health.clear_learnt_gaps()
    yield
    integration_health.clear_learnt_gaps()


class Inbox:
    """An aiosmtpd handler that keeps every message it receives: the admins' real SMTP server in this test."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", devices=10, alerts=0, customers=1) as running:
        yield running


def raise_alert(emulator: RunningEmulator, number: int) -> dict[str, Any]:
    """An alert raised in the emulator (mailed by its e-mail sender while that is on)."""
    device = emulator.state.device_at(number % 10)
    assert device is not None
    made = httpx.post(f"{emulator.url}/_emulator/alerts", timeout=20,
                      json={"device_id": device.id, "message": f"Disk C: {number}% free"})
    made.raise_for_status()
    answer: dict[str, Any] = made.json()
    assert "email_error" not in answer
    return answer


def run_tick(now: Any) -> list[JobRun]:
    """One scheduler tick; its jobs run inline, as the embedded worker would run them."""
    sent: list[int] = []
    tasks.tick(now, dispatch=sent.append)
    return [job for job_id in sent if (job := tasks.execute_job(job_id)) is not None]


@pytest.mark.django_db(transaction=True)
def test_email_sender_off_marks_the_email_channel_broken_and_sends_one_notification(
        emulator: RunningEmulator, inbox: tuple[Inbox, int], settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmmbridge.alerts.setup import enable_alerting
    from rmmbridge.integrations.actions import do_create_integration
    from rmmbridge.integrator.actions import do_update_schedule
    from rmmbridge.servicedesk.actions import Actor, do_create_customer, do_create_end_user
    from rmmbridge.tickets.actions import do_create_ticket_type
    from rmmbridge.tickets.models import Ticket

    admins, admin_port = inbox
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", admin_port
    settings.HEALTH_EMAIL_TO = ["oncall@msp.example"]
    settings.PUBLIC_URL = "https://desk.msp.example"
    monkeypatch.setenv("RMMBRIDGE_HEALTH_POLL_ONLY_THRESHOLD", "3")
    actor = Actor.cli("test")
    integration = do_create_integration(actor, "datto_rmm", "Datto", dict(emulator.credentials), test=True)
    catchall = do_create_customer(actor, "Alert Catchall")
    enable_alerting(integration, ticket_type=do_create_ticket_type(actor, "RMM Alert", default_priority=2),
                    new_alert_user=do_create_end_user(actor, catchall.main_site, "New Alert User"))
    do_update_schedule(actor, integration, {"enabled": True, "sync_users": False})

    reverse("integrator:overview")  # load the URLconf (and the API's pydantic schemas) before the clock is frozen
    with SMTPReceiver("127.0.0.1", 0) as receiver, \
            freeze_time(START, tick=True, ignore=REAL_CLOCK) as clock:
        on = httpx.put(f"{emulator.url}/_emulator/email-sender", timeout=10,
                       json={"smtp_host": "127.0.0.1", "smtp_port": receiver.port, "to": "alerts@desk.example"})
        on.raise_for_status()
        minute = 0
        raised = 0

        def next_minute() -> list[JobRun]:
            nonlocal minute
            minute += 1
            clock.move_to(START + timedelta(minutes=minute))
            return run_tick(utcnow())

        assert run_tick(utcnow()), "the first tick syncs and polls"
        for _ in range(3):  # the e-mail sender works: tickets come by e-mail, polls only confirm them
            raised += 1
            assert "email" in raise_alert(emulator, raised)
        assert Ticket.objects.filter(source="email").count() == 3
        for _ in range(10):
            next_minute()
        assert HealthProblem.objects.count() == 0
        assert admins.messages == []

        httpx.delete(f"{emulator.url}/_emulator/email-sender", timeout=10).raise_for_status()  # polls go on
        key = f"channel_broken:{integration.pk}:email"
        threshold_at: int | None = None  # the minute of the poll that brought the 4th poll-only alert (> 3)
        broken_at: int | None = None
        while broken_at is None and minute < 60:
            if minute % 5 == 0:
                raised += 1
                assert "email" not in raise_alert(emulator, raised)  # one alert per poll cycle, mailed by nobody
            jobs = next_minute()
            if threshold_at is None and any(j.kind == "poll" for j in jobs) and \
                    Ticket.objects.filter(source="poll").count() > 3:
                threshold_at = minute
            if HealthProblem.objects.filter(key=key).exists():
                broken_at = minute
                assert threshold_at is not None, "not broken before the threshold"
        assert threshold_at is not None
        assert broken_at is not None
        assert broken_at - threshold_at <= 5, "within one poll cycle after the threshold"
        problem = HealthProblem.objects.get(key=key)
        assert problem.is_open
        assert problem.evidence.startswith("4 alerts in the last 24 h reached rmmbridge only by polling: check the "
                                           "Datto RMM monitor's e-mail recipient")
        for _ in range(30):  # the problem stays; no second message within the notification interval
            next_minute()

    assert len(admins.messages) == 1
    [mail] = admins.messages
    assert mail["To"] == "oncall@msp.example"
    assert mail["Subject"] == "[rmmbridge] Problem: Datto: the e-mail channel is broken"
    text = mail.get_payload(decode=True).decode()
    assert "4 alerts in the last 24 h reached rmmbridge only by polling" in text
    assert f"https://desk.msp.example/alerts/integration/{integration.pk}/" in text
    problem.refresh_from_db()
    assert problem.notifications == 1
    assert problem.told == "problem"
