"""Write layer for integrator schedules: validate, save, audit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator.models import IntegratorSchedule
from rmmbridge.integrator.schedules import refresh_next_run, schedule_for
from rmmbridge.servicedesk.actions import Actor, record_audit

BOOL_FIELDS = ("enabled", "sync_customers", "sync_users", "sync_assets", "poll_alerts", "deactivate_deleted_assets")
INTERVAL_FIELDS = {
    "customers_interval_minutes": "Customers interval",
    "users_interval_minutes": "Users interval",
    "assets_interval_minutes": "Assets interval",
    "alerts_interval_minutes": "Alerts interval",
}
MAX_INTERVAL_MINUTES = 7 * 24 * 60


def _interval(label: str, value: Any) -> int:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(
            f"{label} expects a whole number of minutes (e.g. 1440 for daily); got {value!r}."
        ) from None
    if not 1 <= minutes <= MAX_INTERVAL_MINUTES:
        raise ValidationError(f"{label} must be between 1 and {MAX_INTERVAL_MINUTES} minutes; got {minutes}.")
    return minutes


def do_update_schedule(actor: Actor, integration: Integration, changes: Mapping[str, Any]) -> IntegratorSchedule:
    """Change an integration's schedule; unknown keys and bad intervals raise ValidationError, nothing saved."""
    unknown = sorted(set(changes) - set(BOOL_FIELDS) - set(INTERVAL_FIELDS))
    if unknown:
        known = ", ".join([*BOOL_FIELDS, *INTERVAL_FIELDS])
        raise ValidationError(f"Unknown schedule setting(s) {', '.join(unknown)}; known: {known}.")
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        clean[name] = _interval(INTERVAL_FIELDS[name], value) if name in INTERVAL_FIELDS else bool(value)
    with transaction.atomic():
        schedule = schedule_for(integration)
        schedule = IntegratorSchedule.objects.select_for_update().select_related("integration").get(pk=schedule.pk)
        diff: dict[str, list[Any]] = {}
        for name, value in clean.items():
            old = getattr(schedule, name)
            if old != value:
                diff[name] = [old, value]
                setattr(schedule, name, value)
        refresh_next_run(schedule)
        schedule.save()
        if diff:
            record_audit(actor, integration, "integrator_schedule", diff)
        if "deactivate_deleted_assets" in diff:
            _apply_missing_action(actor, integration, schedule.deactivate_deleted_assets)
    return schedule


def _apply_missing_action(actor: Actor, integration: Integration, deactivate: bool) -> None:
    """The sync engine acts on devices deleted in the RMM: deactivate their assets, or leave them as they are."""
    from rmmbridge.sync.snapshot import sync_config

    config = sync_config(integration)
    wanted = "deactivate" if deactivate else "nothing"
    if config.missing_action != wanted:
        record_audit(actor, integration, "sync_missing_action", {"missing_action": [config.missing_action, wanted]})
        config.missing_action = wanted
        config.save(update_fields=["missing_action", "updated_at"])


HEALTH_CHANNELS = ("email", "webhook")


def do_set_expected_gap(actor: Actor, integration: Integration, channel: str, minutes: Any) -> int | None:
    """Set by hand how long a push channel may stay silent (minutes); 0 or empty goes back to learning it."""
    from rmmbridge.integrator.models import ChannelExpectation

    if channel not in HEALTH_CHANNELS:
        raise ValidationError(f"Channel must be one of {', '.join(HEALTH_CHANNELS)}; got {channel!r}.")
    text = "" if minutes is None else str(minutes).strip()
    value = 0 if text in ("", "0") else _interval("Expected gap", text)
    with transaction.atomic():
        row = ChannelExpectation.objects.select_for_update().filter(integration=integration, channel=channel).first()
        old = row.expected_gap_minutes if row is not None else None
        new = value or None
        if old == new:
            return new
        if not value:
            if row is not None:
                row.delete()
        elif row is None:
            ChannelExpectation.objects.create(integration=integration, channel=channel, expected_gap_minutes=value)
        else:
            row.expected_gap_minutes = value
            row.save(update_fields=["expected_gap_minutes"])
        record_audit(actor, integration, "health_expected_gap", {f"{channel}_expected_gap_minutes": [old, new]})
    from rmmbridge.integrator.integration_health import clear_learnt_gaps

    clear_learnt_gaps()
    return new
