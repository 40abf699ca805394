"""Operations surfaces: health probe and page, /metrics with its token, the schedule panel, `rmmbridge status`."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from rmmbridge.integrator import dispatch, tasks
from rmmbridge.integrator.models import IntegratorSchedule, JobRun


def test_health_json_for_probes_needs_no_login(db: Any) -> None:
    response = Client().get("/ops/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["mode"] == "embedded"
    assert "jobs" not in body  # no counts for an anonymous probe
    assert "outbox_backlog" not in body


def test_health_counts_need_a_session_or_the_token(db: Any, settings: Any, admin_client: Any) -> None:
    settings.METRICS_TOKEN = "probe-token-123"
    assert "jobs" not in Client().get("/ops/health/", HTTP_AUTHORIZATION="Bearer wrong").json()
    with_token = Client().get("/ops/health/", HTTP_AUTHORIZATION="Bearer probe-token-123").json()
    assert set(with_token["jobs"]) == {"queued", "running", "deferred"}
    assert "outbox_backlog" in with_token
    assert set(admin_client.get("/ops/health/").json()["jobs"]) == {"queued", "running", "deferred"}


def test_health_page_for_people(admin_client: Any, schedule: Any) -> None:
    response = admin_client.get("/ops/health/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Health:" in page
    assert "Acme RMM" in page


def test_metrics_off_without_token_and_protected_with_one(db: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-token"
    assert Client().get("/metrics").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert Client().get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


def test_metrics_count_runs_durations_and_items(schedule: Any, recorder: Any, settings: Any) -> None:
    settings.METRICS_TOKEN = "tok"
    for _ in range(2):
        tasks.execute_job(tasks.trigger_now(schedule.integration, "sync").pk)
    queued = tasks.trigger_now(schedule.integration, "poll")
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer tok").content.decode()
    assert 'rmmbridge_job_runs_total{kind="sync",status="success"} 2' in text
    assert 'rmmbridge_job_duration_seconds_count{kind="sync"} 2' in text
    assert 'rmmbridge_job_duration_seconds_bucket{kind="sync",le="+Inf"} 2' in text
    assert 'rmmbridge_items_total{entity="assets",kind="sync",operation="created"} 4' in text
    assert 'rmmbridge_jobs_open{kind="poll",status="queued"} 1' in text
    assert 'rmmbridge_integrations{status="ok"} 1' in text
    assert "rmmbridge_outbox_backlog 0" in text
    assert "# TYPE rmmbridge_job_duration_seconds histogram" in text
    assert queued.pk


def test_schedule_panel_saves_and_rejects_bad_input(admin_client: Any, integration: Any) -> None:
    url = f"/ops/integrations/{integration.pk}/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Deactivate assets deleted in the RMM" in page.content.decode()
    form = {
        "enabled": "on", "sync_customers": "on", "customers_interval_minutes": "1440", "sync_users": "on",
        "users_interval_minutes": "1440", "sync_assets": "on", "assets_interval_minutes": "720",
        "poll_alerts": "on", "alerts_interval_minutes": "5", "deactivate_deleted_assets": "on",
    }
    assert admin_client.post(url, form).status_code == 302
    saved = IntegratorSchedule.objects.get(integration=integration)
    assert (saved.enabled, saved.assets_interval_minutes, saved.deactivate_deleted_assets) == (True, 720, True)
    bad = admin_client.post(url, {**form, "alerts_interval_minutes": "0", "enabled": ""})
    assert bad.status_code == 200
    assert "greater than or equal to 1" in bad.content.decode()
    kept = IntegratorSchedule.objects.get(integration=integration)
    assert (kept.enabled, kept.alerts_interval_minutes) == (True, 5)


def test_run_now_queues_a_manual_job(admin_client: Any, integration: Any, monkeypatch: pytest.MonkeyPatch,
                                    django_capture_on_commit_callbacks: Any) -> None:
    sent: list[int] = []
    monkeypatch.setattr(dispatch, "dispatch_job", sent.append)  # where trigger_now looks it up
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/ops/integrations/{integration.pk}/run/", {"kind": "poll"})
    assert response.status_code == 302
    job = JobRun.objects.get()
    assert (job.kind, job.trigger, job.status) == ("poll", "manual", "queued")
    assert sent == [job.pk]  # dispatched once the request's transaction commits
    assert admin_client.post(f"/ops/integrations/{integration.pk}/run/", {"kind": "nope"}).status_code == 302
    assert JobRun.objects.count() == 1


def test_summary_fragment_shows_last_next_state_and_error(admin_client: Any, schedule: Any, recorder: Any) -> None:
    IntegratorSchedule.objects.filter(pk=schedule.pk).update(last_error="Datto RMM answered 503")
    fragment = admin_client.get(f"/ops/integrations/{schedule.integration.pk}/summary/").content.decode()
    assert "Last run" in fragment
    assert "never" in fragment
    assert "Next run" in fragment
    assert "Datto RMM answered 503" in fragment


def test_status_command_json_and_table(schedule: Any, recorder: Any) -> None:
    tasks.execute_job(tasks.trigger_now(schedule.integration, "sync").pk)
    out = StringIO()
    call_command("status", "--json", stdout=out)
    data = json.loads(out.getvalue())
    row = data["integrations"][0]
    assert row["name"] == "Acme RMM"
    assert row["integrator"] is True
    assert row["last_status"] == "success"
    assert row["next_run_at"]
    assert data["outbox_backlog"] == 0
    assert data["checks"]["database"] == "ok"
    table = StringIO()
    call_command("status", stdout=table)
    assert "Acme RMM" in table.getvalue()
    assert "outbox backlog: 0" in table.getvalue()


def test_demo_step_switches_the_integrator_on_and_is_safe_to_repeat(integration: Any) -> None:
    from rmmbridge.integrator import demo

    for _ in range(2):
        out = StringIO()
        demo.run(out)
        assert "Integrator on for Acme RMM" in out.getvalue()
    saved = IntegratorSchedule.objects.get(integration=integration)
    assert (saved.enabled, saved.alerts_interval_minutes) == (True, 1)
    assert saved.next_run_at is not None


def test_health_reports_whether_the_scheduler_ticks(db: Any, settings: Any) -> None:
    from datetime import timedelta

    from rmmbridge.common.clock import utcnow
    from rmmbridge.integrator.status import scheduler_check

    assert Client().get("/ops/health/").json()["checks"]["scheduler"] == "never ticked: start `rmmbridge serve`"
    tasks.tick(dispatch=lambda job_id: None)
    assert Client().get("/ops/health/").json()["checks"]["scheduler"] == "ok"
    assert scheduler_check(utcnow() + timedelta(minutes=10)).startswith("stale: last tick 6")
    settings.METRICS_TOKEN = "tok"
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer tok").content.decode()
    assert "rmmbridge_scheduler_last_tick_timestamp_seconds " in text


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_distributed_commands_refuse_to_run_in_embedded_mode(db: Any, command: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="RMMBRIDGE_MODE=distributed"):
        call_command(command)


def test_integration_setup_page_links_the_integrator_panel(admin_client: Any, integration: Any) -> None:
    page = admin_client.get(f"/integrations/{integration.pk}/")
    assert page.status_code == 200
    assert f'href="/ops/integrations/{integration.pk}/"' in page.content.decode()


def test_summary_template_tag_for_the_integrations_page(schedule: Any, recorder: Any) -> None:
    from django.template import Context, Template

    tasks.execute_job(tasks.trigger_now(schedule.integration, "sync").pk)
    html = Template("{% load integrator %}{% integrator_summary integration %}").render(
        Context({"integration": schedule.integration}))
    assert "Last run" in html
    assert "(success)" in html
    assert "Next run" in html
    assert "not scheduled" not in html
