"""`{% load integrator %}{% integrator_summary integration %}`: last run, next run, state and last error."""

from __future__ import annotations

from typing import Any

from django import template

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.tasks import refresh_next_run, schedule_for

register = template.Library()


@register.inclusion_tag("integrator/_summary.html")
def integrator_summary(integration: Integration) -> dict[str, Any]:
    """The integrator facts of one integration, for the Integrations page."""
    schedule = schedule_for(integration)
    refresh_next_run(schedule)
    return {"integration": integration, "schedule": schedule}
