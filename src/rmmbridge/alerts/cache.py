"""The short-lived cache of a long-running receiver: rules, alerting and noise options, rows shared by assets."""

from __future__ import annotations

import time
from typing import Any

from rmmbridge.alerts.models import AlertingConfig, EmailRule
from rmmbridge.alerts.noise import NoisePolicy
from rmmbridge.alerts.noise_models import MaintenanceWindow, policy_for
from rmmbridge.integrations.models import Integration

#: Long-running intake (the SMTP receiver) caches rules and alerting options this long; saves in the same
#: process clear the cache at once, saves elsewhere (the web UI) apply within CACHE_SECONDS.
CACHE_SECONDS = 5.0
CACHE_MAX_ENTRIES = 20_000
_CACHE: dict[str, tuple[float, Any]] = {}
_CACHE_ON = False


def use_cache(enabled: bool) -> None:
    """Switch the rules/options cache on (a long-running receiver) or off (the default)."""
    global _CACHE_ON
    _CACHE_ON = enabled
    _CACHE.clear()


def clear_cache(*args: Any, **kwargs: Any) -> None:
    """Drop cached rules and alerting options (connected to their post_save/post_delete signals)."""
    _CACHE.clear()


def cached_rules() -> list[EmailRule]:
    """All e-mail rules with their integration and ticket type."""
    now = time.monotonic()
    hit = _CACHE.get("rules") if _CACHE_ON else None
    if hit is not None and hit[0] > now:
        cached: list[EmailRule] = hit[1]
        return cached
    rules = list(EmailRule.objects.select_related("integration", "ticket_type"))
    if _CACHE_ON:
        _CACHE["rules"] = (now + CACHE_SECONDS, rules)
    return rules


def enabled() -> bool:
    """Whether this process caches (a long-running receiver)."""
    return _CACHE_ON


def config_for(integration: Integration | None) -> AlertingConfig | None:
    """The integration's alerting options (cached briefly; saved changes clear the cache at once)."""
    if integration is None:
        return None
    key = f"config:{integration.pk}"
    now = time.monotonic()
    hit = _CACHE.get(key) if _CACHE_ON else None
    if hit is not None and hit[0] > now:
        cached: AlertingConfig | None = hit[1]
        return cached
    config = AlertingConfig.objects.select_related("ticket_type", "new_alert_user", "new_alert_user__site",
                                                   "new_alert_user__customer").filter(integration=integration).first()
    if _CACHE_ON:
        _CACHE[key] = (now + CACHE_SECONDS, config)
    return config


def noise_policy(integration: Integration | None) -> NoisePolicy:
    """The integration's noise-control policy (flap and storm limits; cached briefly like the alerting options)."""
    key = f"noise:{integration.pk if integration is not None else ''}"
    hit = get(key)
    if hit is not None and hit[0] > time.monotonic():
        cached: NoisePolicy = hit[1]
        return cached
    policy = policy_for(integration)
    put(key, policy)
    return policy


def enabled_windows() -> list[MaintenanceWindow]:
    """The enabled maintenance windows (cached briefly; a saved window clears the cache at once)."""
    hit = get("windows")
    if hit is not None and hit[0] > time.monotonic():
        cached: list[MaintenanceWindow] = hit[1]
        return cached
    rows = list(MaintenanceWindow.objects.filter(enabled=True))
    put("windows", rows)
    return rows


def cached_row(model: Any, pk: int) -> Any:
    """One row by primary key, from the cache when fresh."""
    key = f"{model._meta.label}:{pk}"
    now = time.monotonic()
    hit = _CACHE.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = model.objects.get(pk=pk)
    if len(_CACHE) > CACHE_MAX_ENTRIES:
        _CACHE.clear()
    _CACHE[key] = (now + CACHE_SECONDS, row)
    return row


def get(key: str) -> tuple[float, Any] | None:
    """A cached (expiry, value) pair, or None (always None while the cache is off)."""
    return _CACHE.get(key) if _CACHE_ON else None


def put(key: str, value: Any) -> None:
    """Cache a value for CACHE_SECONDS (nothing while the cache is off)."""
    if _CACHE_ON:
        _CACHE[key] = (time.monotonic() + CACHE_SECONDS, value)
