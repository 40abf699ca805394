"""`{% load integrator %}{% integrator_summary integration %}`: last run, next run, state and last error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.schedules import refresh_next_run, schedule_for

register = template.Library()


@register.inclusion_tag("integrator/_summary.html")
def integrator_summary(integration: Integration) -> dict[str, Any]:
    """The integrator facts of one integration, for the Integrations page."""
    schedule = schedule_for(integration)
    refresh_next_run(schedule)
    return {"integration": integration, "schedule": schedule}


@register.filter
def when(value: str | None) -> str:
    """An ISO 8601 time from the status report as 'YYYY-MM-DD HH:MM' (UTC), or '' when there is none."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
