"""The text of alert tickets: summary, details, occurrence and resolve notes."""

from __future__ import annotations

from rmmbridge.alerts.facts.base import AlertFacts
from rmmbridge.alerts.lookup import Target
from rmmbridge.common.clock import utcnow


def details(facts: AlertFacts, target: Target) -> str:
    """The ticket's details: the alert's own text, then what the RMM and the asset say."""
    lines = [facts.details or facts.message]
    lines.append("")
    lines.append("— RMM alert —")
    if facts.integration is not None:
        lines.append(f"Integration: {facts.integration.name} ({facts.integration.vendor})")
    if facts.external_id:
        lines.append(f"Alert id: {facts.external_id}")
    if facts.condition:
        lines.append(f"Condition: {facts.condition}")
    if facts.severity:
        lines.append(f"Severity: {facts.severity}")
    if facts.message and facts.details and facts.message != facts.details:
        lines.append(f"Message: {facts.message}")
    lines.append("")
    lines.append("— Device —")
    asset = target.asset
    if asset is not None:
        lines.append(f"Asset: {asset} (#{asset.pk}), {asset.asset_type.name}")
        lines.append(f"Site: {asset.site.name}")
        for key in ("hostname", "ip_address", "os", "serial_number", "manufacturer", "model", "last_seen"):
            value = asset.values.get(key)
            if value not in (None, ""):
                lines.append(f"{key.replace('_', ' ').capitalize()}: {value}")
    else:
        lines.append("No asset matched this device.")
    if facts.hostname:
        lines.append(f"Reported hostname: {facts.hostname}")
    if facts.ip_address:
        lines.append(f"Reported IP address: {facts.ip_address}")
    if facts.device_external_id:
        lines.append(f"RMM device id: {facts.device_external_id}")
    return "\n".join(lines).strip()


def summary(facts: AlertFacts) -> str:
    """The ticket's one-line summary."""
    text = facts.summary or (f"{facts.hostname}: {facts.message}" if facts.hostname else facts.message)
    text = " ".join((text or facts.key).split())
    return text[:255] or "RMM alert"


def occurrence_note(facts: AlertFacts) -> str:
    """The note added when an open alert occurs again."""
    when = utcnow().strftime("%Y-%m-%d %H:%M UTC")
    return f"The alert occurred again ({when}): {(facts.message or facts.summary)[:2000]}"


def resolve_note(facts: AlertFacts, *, closing: bool) -> str:
    """The note of a resolve (closing the ticket, or kept open because a person worked it)."""
    vendor = facts.integration.name if facts.integration is not None else "the RMM"
    base = f"The alert was resolved in {vendor}"
    if facts.message:
        base += f": {facts.message[:2000]}"
    base += "." if closing else ". The ticket stays open because a person has worked it."
    return f"{base}\n{facts.verification}" if facts.verification else base
