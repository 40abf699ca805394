"""Integration health against the database: dead-man checks, problem state, webhook notices, pages, CLI, metrics."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from rmmbridge.common.clock import utcnow
from rmmbridge.integrator import integration_health, tasks
from rmmbridge.integrator.models import HealthProblem, JobKind, JobRun, JobStatus

from .conftest import add_due_resolve


@pytest.fixture(autouse=True)
def _fresh_learnt_gaps() -> Iterator[None]:
    """Learnt gaps are cached per process by integration id; ids repeat between tests."""
    integration_health.clear_learnt_gaps()
    yield
    integration_health.clear_learnt_gaps()


class Hook:
    """A real HTTP server on loopback that records each JSON body posted to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hook(settings: Any) -> Iterator[Hook]:
    receiver = Hook()
    settings.HEALTH_WEBHOOK_URL = receiver.url
    settings.EMAIL_HOST = ""
    yield receiver
    receiver.server.shutdown()


def stuck_resolve(integration: Any, hours: float = 2) -> Any:
    row = add_due_resolve(integration)
    row.created_at = utcnow() - timedelta(hours=hours)
    row.save()
    return row


def test_dead_man_checks_open_problems_with_reasons_and_fix_links(schedule: Any) -> None:
    from rmmbridge.sync.models import SyncRun

    integration = schedule.integration
    now = utcnow()
    job = JobRun.objects.create(kind=JobKind.SYNC, integration=integration, status=JobStatus.SUCCESS,
                                finished_at=now - timedelta(days=3))
    JobRun.objects.filter(pk=job.pk).update(created_at=now - timedelta(days=3))
    SyncRun.objects.create(integration=integration, started_at=now - timedelta(hours=1), status="needs_confirmation")
    stuck_resolve(integration)
    problems = {p.kind: p for p in integration_health.current_problems(now)}
    assert set(problems) >= {"sync_stale", "guard_waiting", "outbox_stuck"}
    assert problems["sync_stale"].evidence.startswith("The last successful sync was 3.0 days ago")
    assert problems["sync_stale"].fix_url == f"/ops/integrations/{integration.pk}/"
    assert problems["guard_waiting"].fix_url.startswith("/sync/runs/")
    assert "1 resolve(s) have been pending in the outbox for more than 1 h" in problems["outbox_stuck"].evidence

    integration.status, integration.last_error = "needs_reauth", "401: invalid API key"
    integration.save()
    kinds = {p.kind: p for p in integration_health.current_problems(now)}
    assert "sync_stale" not in kinds, "rejected credentials explain the stale sync"
    assert "401: invalid API key" in kinds["credentials_rejected"].evidence
    assert kinds["credentials_rejected"].fix_url == f"/integrations/{integration.pk}/"


def test_webhook_gets_one_problem_and_one_recovery(schedule: Any, hook: Hook, settings: Any) -> None:
    settings.HEALTH_WEBHOOK_FORMAT = "slack"
    row = stuck_resolve(schedule.integration)
    first = integration_health.evaluate_and_notify()
    assert "outbox_stuck" in first.opened
    integration_health.evaluate_and_notify()
    integration_health.evaluate_and_notify()
    assert len(hook.bodies) == 1
    assert hook.bodies[0]["text"].startswith("*Problem: Alert resolves are not reaching the RMM*\n")
    row.status = "delivered"
    row.save()
    settings.HEALTH_WEBHOOK_FORMAT = "teams"
    second = integration_health.evaluate_and_notify()
    assert second.recovered == ["outbox_stuck"]
    integration_health.evaluate_and_notify()
    assert len(hook.bodies) == 2
    card = hook.bodies[1]
    assert card["@type"] == "MessageCard"
    assert card["title"] == "Recovered: Alert resolves are not reaching the RMM"
    problem = HealthProblem.objects.get(key="outbox_stuck")
    assert problem.recovered_at is not None
    assert problem.notifications == 2


def test_a_failed_notification_is_recorded_and_tried_again(schedule: Any, settings: Any) -> None:
    settings.HEALTH_WEBHOOK_URL = "http://127.0.0.1:9/nobody-listens?token=s3cret"
    settings.EMAIL_HOST = ""
    stuck_resolve(schedule.integration)
    run = integration_health.evaluate_and_notify()
    assert run.errors
    assert "s3cret" not in run.errors[0]
    problem = HealthProblem.objects.get(key="outbox_stuck")
    assert problem.told == ""
    assert "webhook failed" in problem.last_notify_error
    hook = Hook()
    settings.HEALTH_WEBHOOK_URL = hook.url
    try:
        assert integration_health.evaluate_and_notify().sent == ["problem:outbox_stuck"]
    finally:
        hook.server.shutdown()
    assert hook.bodies[0]["key"] == "outbox_stuck"


def test_the_scheduler_tick_evaluates_health(schedule: Any, recorder: Any, settings: Any) -> None:
    settings.HEALTH_WEBHOOK_URL, settings.EMAIL_HOST = "", ""
    stuck_resolve(schedule.integration)
    tasks.tick(dispatch=lambda job_id: None)
    assert HealthProblem.objects.filter(key="outbox_stuck", recovered_at__isnull=True).exists()


def test_health_page_status_and_metrics_show_problems(schedule: Any, admin_client: Any, settings: Any) -> None:
    settings.HEALTH_WEBHOOK_URL, settings.EMAIL_HOST, settings.METRICS_TOKEN = "", "", "tok"
    stuck_resolve(schedule.integration)
    integration_health.evaluate_and_notify()

    anonymous = Client().get("/ops/health/").json()
    assert "integration_problems" not in anonymous, "counts need a session or the metrics token"
    assert "problems" not in anonymous
    probe = Client().get("/ops/health/", HTTP_AUTHORIZATION="Bearer tok").json()
    assert probe["integration_problems"] == 1
    assert "problems" not in probe, "the detail is for signed-in people only"
    page = admin_client.get("/ops/health/", HTTP_ACCEPT="text/html").content.decode()
    assert "Alert resolves are not reaching the RMM" in page
    assert "have been pending in the outbox for more than 1 h" in page
    assert admin_client.get("/ops/health/?format=json").json()["problems"][0]["kind"] == "outbox_stuck"

    out = StringIO()
    call_command("status", "--json", stdout=out)
    assert [p["key"] for p in json.loads(out.getvalue())["problems"]] == ["outbox_stuck"]
    table = StringIO()
    call_command("status", stdout=table)
    assert "Alert resolves are not reaching the RMM" in table.getvalue()

    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer tok").content.decode()
    assert 'rmmbridge_health_problems{kind="outbox_stuck"} 1' in text
    assert 'rmmbridge_health_problems{kind="channel_broken"} 0' in text
    assert "# TYPE rmmbridge_channel_health gauge" in text


def test_dashboard_summary_per_integration(schedule: Any) -> None:
    integration = schedule.integration
    integration.status = "needs_reauth"
    integration.save()
    integration_health.evaluate_and_notify()
    summary = integration_health.integration_summary()
    assert summary[integration.pk]["state"] == "problem"
    assert summary[integration.pk]["problems"][0]["fix_url"] == f"/integrations/{integration.pk}/"


def test_expected_gap_set_by_hand_makes_a_silent_channel_a_problem(schedule: Any, settings: Any) -> None:
    from rmmbridge.alerts.models import AlertEvent, EmailRule

    settings.HEALTH_WEBHOOK_URL, settings.EMAIL_HOST = "", ""
    integration = schedule.integration
    EmailRule.objects.create(name="Datto mail", integration=integration, from_address="noreply@centrastage.net")
    AlertEvent.objects.create(channel="smtp", integration=integration, received_at=utcnow() - timedelta(hours=5),
                              raw=b"x", alert_key="a-1")
    with pytest.raises(CommandError, match="Expected gap expects a whole number of minutes"):
        call_command("health", "--expect-gap", str(integration.pk), "email", "soon")
    with pytest.raises(CommandError, match="Channel must be one of email, webhook"):
        call_command("health", "--expect-gap", integration.name, "fax", "60")
    out = StringIO()
    call_command("health", "--expect-gap", integration.name, "email", "240", "--check", stdout=out)
    assert "expected gap 240 min (set by hand)" in out.getvalue()
    assert "the e-mail channel is silent" in out.getvalue()
    problem = HealthProblem.objects.get(key=f"channel_silent:{integration.pk}:email")
    assert problem.evidence == ("No e-mail alert has arrived for 5.0 h; the longest expected gap is 4 h (set by "
                                "hand).")
    call_command("health", "--expect-gap", str(integration.pk), "email", "0", "--check", stdout=StringIO())
    problem.refresh_from_db()
    assert problem.recovered_at is not None, "back to learning: one event is not enough history to expect a gap"


def test_a_webhook_silent_far_longer_than_its_learnt_gap_is_a_problem(schedule: Any) -> None:
    from rmmbridge.alerts.models import AlertEvent

    integration = schedule.integration
    now = utcnow()
    for hours in range(10, 22):  # an event every hour until ten hours ago
        AlertEvent.objects.create(channel="webhook", integration=integration, raw=b"{}",
                                  received_at=now - timedelta(hours=hours), alert_key=f"w-{hours}")
    problems = {p.key: p for p in integration_health.current_problems(now)}
    silent = problems[f"channel_silent:{integration.pk}:webhook"]
    assert silent.evidence == ("No webhook alert has arrived for 10.0 h; the longest expected gap is 1.5 h (learnt "
                               "from the last 14 days).")
    assert f"channel_silent:{integration.pk}:email" not in problems, "e-mail was never in use"
    channels = {c["channel"]: c["state"] for c in integration_health.channel_health()}
    assert channels == {"email": "unused", "webhook": "ok"}, "not evaluated yet: no open problem rows"
    integration_health.evaluate_and_notify(now)
    assert {c["channel"]: c["state"] for c in integration_health.channel_health()}["webhook"] == "silent"


def test_dashboard_lists_health_problems_under_needs_you(schedule: Any, admin_client: Any) -> None:
    integration = schedule.integration
    integration.status = "needs_reauth"
    integration.save()
    integration_health.evaluate_and_notify()
    problem = integration_health.integration_summary()[integration.pk]["problems"][0]
    page = admin_client.get("/").content.decode()
    needs_you = page[page.index('id="needs-you"'):page.index('id="integration-states"')]
    assert problem["title"] in needs_you
    assert f'href="{problem["fix_url"]}"' in needs_you
