"""The integrator panel in a real browser: switch the integrator on, see the next run, queue a manual sync."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_switch_integrator_on_and_queue_a_sync(page: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from rmmbridge.integrations.models import Integration
    from rmmbridge.integrator import dispatch
    from rmmbridge.integrator.models import IntegratorSchedule, JobRun

    sent: list[int] = []
    monkeypatch.setattr(dispatch, "dispatch_job", sent.append)  # where trigger_now looks it up
    integration = Integration.objects.create(vendor="datto_rmm", name="Browser RMM", status="ok")
    page.goto(f"/ops/integrations/{integration.pk}/")
    assert page.locator(f"#integrator-summary-{integration.pk}").inner_text().count("not scheduled") == 1
    page.check("input[name=enabled]")
    page.fill("input[name=assets_interval_minutes]", "60")
    page.click("#schedule-form button[type=submit]")
    page.wait_for_selector("text=Integrator schedule saved.")
    schedule = IntegratorSchedule.objects.get(integration=integration)
    assert schedule.enabled
    assert schedule.assets_interval_minutes == 60
    assert "not scheduled" not in page.locator(f"#integrator-summary-{integration.pk}").inner_text()
    page.click("text=Sync now")
    page.wait_for_selector("text=Sync queued")
    job = JobRun.objects.get(integration=integration)
    assert (job.kind, job.trigger) == ("sync", "manual")
    assert page.locator("table.jobs").inner_text().count("Queued") == 1
    assert sent == [job.pk]
