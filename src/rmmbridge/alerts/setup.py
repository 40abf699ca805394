"""Switching alerting on for an integration: its AlertingConfig and its vendor's e-mail rule."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from rmmbridge.alerts.models import AlertingConfig, EmailRule, FromMatch, RuleAction
from rmmbridge.connectors.registry import REGISTRY
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor, record_audit
from rmmbridge.servicedesk.models import EndUser
from rmmbridge.tickets.models import TicketType


@dataclass(frozen=True)
class VendorMail:
    """How a vendor's alert e-mails look, for the rule created when alerting is switched on."""

    rule_name: str
    subject_pattern: str
    alert_id_pattern: str
    recovery_pattern: str = ""
    default_from: str = ""
    markers: tuple[tuple[str, str, str], ...] = (
        ("Device:", "\\n", "hostname"), ("Hostname:", "\\n", "hostname"), ("Device ID:", "\\n", "device_id"),
        ("Device UID:", "\\n", "device_id"),
        ("IP address:", "\\n", "ip_address"),
    )


VENDOR_MAIL: dict[str, VendorMail] = {
    "datto_rmm": VendorMail(
        rule_name="Datto RMM Alerts",
        subject_pattern=r"Alert\{[^}\s]+\}",
        alert_id_pattern=r"Alert\{([^}\s]+)\}",
        recovery_pattern=r"^(RE:\s*)?(resolved|recovered|cleared)\b|^Status:\s*Resolved\b",
        default_from="noreply@centrastage.net",
    ),
}


def vendor_mail(vendor: str) -> VendorMail:
    """The vendor's alert e-mail shape; any vendor gets a rule on the `Alert{id}` subject token by default."""
    if vendor in VENDOR_MAIL:
        return VENDOR_MAIL[vendor]
    cls = REGISTRY.get(vendor)
    name = cls.name if cls is not None else vendor
    return VendorMail(rule_name=f"{name} Alerts", subject_pattern=r"Alert\{[^}\s]+\}",
                      alert_id_pattern=r"Alert\{([^}\s]+)\}")


@transaction.atomic
def enable_alerting(
    integration: Integration,
    *,
    ticket_type: TicketType | None = None,
    from_address: str = "",
    new_alert_user: EndUser | None = None,
    actor: Actor | None = None,
) -> AlertingConfig:
    """Switch alerting on and create the vendor's e-mail rule (kept, and not overwritten, if it exists)."""
    actor = actor or Actor.system("alerts")
    config, _ = AlertingConfig.objects.get_or_create(integration=integration)
    shape = vendor_mail(integration.vendor)
    config.enabled = True
    if ticket_type is not None:
        config.ticket_type = ticket_type
    if new_alert_user is not None:
        config.new_alert_user = new_alert_user
    if from_address:
        config.from_address = from_address.strip().lower()
    elif not config.from_address and shape.default_from:
        config.from_address = shape.default_from
    config.save()
    if not EmailRule.objects.filter(integration=integration).exists():
        name = shape.rule_name
        if EmailRule.objects.filter(name=name).exists():
            name = f"{shape.rule_name} ({integration.name})"[:200]
        EmailRule.objects.create(
            name=name,
            order=10,
            integration=integration,
            from_match=FromMatch.EXACT if config.from_address else FromMatch.ANY,
            from_address=config.from_address,
            subject_pattern=shape.subject_pattern,
            alert_id_pattern=shape.alert_id_pattern,
            recovery_pattern=shape.recovery_pattern,
            action=RuleAction.OPEN_OR_UPDATE,
            ticket_type=config.ticket_type,
            markers=[{"start": a, "end": b, "field": c} for a, b, c in shape.markers],
        )
    record_audit(actor, integration, "alerting_on", {"enabled": [False, True]})
    return config
