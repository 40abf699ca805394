"""The API over real HTTP against emulators: find a synced asset by serial, close an alert ticket (the alert is
resolved in the RMM), trigger a sync as a job and follow its progress to the run's rows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.alerts.conftest import make_desk
from tests.alerts.test_end_to_end import raise_alert, resolve_calls

from rmmbridge.alerts.outbox import deliver_due
from rmmbridge.alerts.polling import poll_alerts
from rmmbridge.connectors.testing.server import RunningEmulator, serve_emulator
from rmmbridge.integrations import actions
from rmmbridge.integrations.models import ExternalRef
from rmmbridge.integrator import tasks
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.models import Asset, AuditEntry
from rmmbridge.sync.runner import run_sync
from rmmbridge.tickets.models import Ticket

from .conftest import make_token

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def datto() -> Iterator[RunningEmulator]:
    with serve_emulator("datto_rmm", seed=5, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


def bearer(scope: str = "write") -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token('msp-script', scope)[1]}"}


@pytest.fixture
def automate() -> Iterator[RunningEmulator]:
    with serve_emulator("cw_automate", seed=5, customers=2, devices=12, alerts=0) as emulator:
        yield emulator


def test_an_asset_synced_from_the_emulator_is_found_by_serial(automate: RunningEmulator, live_server: Any) -> None:
    integration = actions.do_create_integration(Actor.cli("t"), "cw_automate", "Automate",
                                                dict(automate.credentials), test=False)
    run = run_sync(integration.pk)
    assert run.status == "success", run.errors
    refs = ExternalRef.objects.filter(integration=integration, kind="asset").order_by("external_id")
    ref, asset = next((r, a) for r in refs if (a := Asset.objects.get(pk=r.object_id)).values.get("serial_number"))
    serial = asset.values["serial_number"]
    answer = httpx.get(f"{live_server.url}/api/v1/assets/", params={"serial": serial}, headers=bearer("read"),
                       timeout=10)
    assert answer.status_code == 200, answer.text
    (found,) = answer.json()["items"]
    assert found["id"] == asset.pk
    assert found["values"]["serial_number"] == serial
    assert found["external_refs"][0]["external_id"] == ref.external_id
    by_ref = httpx.get(f"{live_server.url}/api/v1/assets/",
                       params={"integration": integration.pk, "external_id": ref.external_id},
                       headers=bearer("read"), timeout=10)
    assert [a["id"] for a in by_ref.json()["items"]] == [asset.pk]


def test_closing_an_alert_ticket_through_the_api_resolves_the_alert_in_the_rmm(
    datto: RunningEmulator, live_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RMMBRIDGE_OUTBOX_BACKOFF_SECONDS", "0")
    device = datto.state.device_at(0)
    assert device is not None
    desk = make_desk(device_id=device.id, credentials=dict(datto.credentials))
    alert_id = raise_alert(datto)
    assert poll_alerts(int(desk.integration.pk)).ok
    ticket = Ticket.objects.get(alert_key=alert_id)
    closed = httpx.post(f"{live_server.url}/api/v1/tickets/{ticket.pk}/close/", json={"note": "Disk cleaned"},
                        headers=bearer(), timeout=10)
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert deliver_due() == 1
    assert alert_id in resolve_calls(datto)
    assert datto.state.alerts[alert_id].resolved
    close = AuditEntry.objects.get(object_type="ticket", object_id=ticket.pk, action="close")
    assert (close.source, close.actor_label) == ("api", "msp-script")


def test_a_sync_job_started_through_the_api_runs_and_reports_progress(datto: RunningEmulator,
                                                                      live_server: Any) -> None:
    integration = actions.do_create_integration(Actor.cli("t"), "datto_rmm", "Datto", dict(datto.credentials),
                                                test=False)
    headers = bearer()
    tested = httpx.post(f"{live_server.url}/api/v1/integrations/{integration.pk}/test/", headers=headers, timeout=20)
    assert tested.status_code == 200, tested.text
    assert tested.json()["ok"] is True
    assert tested.json()["status"] == "ok"
    started = httpx.post(f"{live_server.url}/api/v1/integrations/{integration.pk}/jobs/",
                         json={"kind": "sync", "dry_run": True}, headers=headers, timeout=10)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    assert started.json()["status"] == "queued"
    assert started.json()["kind"] == "sync"
    tasks.execute_job(job_id)  # what a worker does with the queued job
    job = httpx.get(f"{live_server.url}/api/v1/jobs/{job_id}/", headers=headers, timeout=10).json()
    assert job["status"] == "success", job
    assert job["sync_run_id"]
    assert job["items"] > 0
    run = httpx.get(f"{live_server.url}/api/v1/sync-runs/{job['sync_run_id']}/", headers=headers, timeout=10).json()
    assert run["dry_run"] is True
    assert run["status"] == "planned"
    rows = httpx.get(f"{live_server.url}/api/v1/sync-runs/{run['id']}/rows/", params={"limit": 5}, headers=headers,
                     timeout=10).json()
    assert len(rows["items"]) == 5
    assert rows["next_cursor"]
    assert all(row["reason"] for row in rows["items"])
    poll = httpx.post(f"{live_server.url}/api/v1/integrations/{integration.pk}/jobs/", json={"kind": "poll"},
                      headers=headers, timeout=10)
    assert poll.status_code == 202
    assert poll.json()["kind"] == "poll"
    bad = httpx.post(f"{live_server.url}/api/v1/integrations/{integration.pk}/jobs/", json={"kind": "reboot"},
                     headers=headers, timeout=10)
    assert bad.status_code == 422
    assert "kind" in bad.json()["detail"]
