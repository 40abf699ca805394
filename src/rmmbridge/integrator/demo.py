"""Demo step (runs last): the integrator on for every demo integration, so scheduled runs happen while serving."""

from __future__ import annotations

from typing import Any

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.actions import do_update_schedule
from rmmbridge.servicedesk.actions import Actor

DEMO_SCHEDULE = {
    "enabled": True,
    "sync_customers": True,
    "sync_users": True,
    "sync_assets": True,
    "poll_alerts": True,
    "customers_interval_minutes": 60,
    "users_interval_minutes": 60,
    "assets_interval_minutes": 15,
    "alerts_interval_minutes": 1,
}


def run(out: Any) -> None:
    """Switch the integrator on for each enabled integration (safe to run again)."""
    actor = Actor.system("demo")
    names = []
    for integration in Integration.objects.filter(enabled=True).order_by("name"):
        do_update_schedule(actor, integration, DEMO_SCHEDULE)
        names.append(integration.name)
    if names:
        out.write(f"Integrator on for {', '.join(names)}: assets every 15 min, alerts every minute "
                  "(embedded scheduler; see /ops/ for runs).")
    else:
        out.write("Integrator: no integrations yet; switch it on per integration at /ops/.")
