"""Switching alerting on for an integration: its AlertingConfig and its vendor's e-mail rule."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from rmmbridge.alerts.models import AlertingConfig, EmailRule, FromMatch, RuleAction
from rmmbridge.connectors.base import Capability
from rmmbridge.connectors.cw_automate import const as cw_automate
from rmmbridge.connectors.registry import BY_SLUG, MANIFESTS, REGISTRY
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
        default_from=BY_SLUG["datto_rmm"].email_sender,
    ),
    # Automate's default monitor message has no alert id: keyed by computer + monitor; FAILED opens, SUCCESS
    # closes. The sender is whatever each Automate server's mail settings say, so there is no default from.
    cw_automate.SLUG: VendorMail(
        rule_name=cw_automate.EMAIL_RULE_NAME,
        subject_pattern=cw_automate.EMAIL_SUBJECT_PATTERN,
        alert_id_pattern="",
        recovery_pattern=cw_automate.EMAIL_RECOVERY_PATTERN,
        markers=cw_automate.EMAIL_MARKERS,
    ),
}


@dataclass(frozen=True)
class VendorChannels:
    """Which alert channels apply to a vendor and whether closing a ticket can resolve the alert in the RMM."""

    email: bool
    webhook: bool
    poll: bool
    resolve: bool
    note: str = ""

    @property
    def labels(self) -> list[str]:
        return [name for name, on in (("E-mail", self.email), ("Webhook", self.webhook), ("Polling", self.poll))
                if on]


#: What the admin should know per vendor (shown on the Alerting setup page; kept in step with docs/alerting.md).
VENDOR_NOTES: dict[str, str] = {m.slug: m.notes for m in MANIFESTS}


def vendor_channels(vendor: str) -> VendorChannels:
    """The vendor's alert channels, from its connector's declared capabilities and its e-mail rule."""
    cls = REGISTRY.get(vendor)
    caps: frozenset[Capability] = cls.capabilities if cls is not None else frozenset()
    return VendorChannels(
        email=vendor in VENDOR_MAIL or Capability.ALERT_EMAIL in caps,
        webhook=Capability.WEBHOOKS in caps,
        poll=Capability.ALERTS_POLL in caps,
        resolve=Capability.ALERT_RESOLVE in caps,
        note=VENDOR_NOTES.get(vendor, ""),
    )


def vendor_mail(vendor: str) -> VendorMail | None:
    """The vendor's alert e-mail shape; None for a vendor that sends no alert e-mails (no rule is created).

    A vendor that declares alert e-mails without a shape of its own gets a rule on the `Alert{id}` subject token.
    """
    if vendor in VENDOR_MAIL:
        return VENDOR_MAIL[vendor]
    cls = REGISTRY.get(vendor)
    if cls is not None and Capability.ALERT_EMAIL not in cls.capabilities:
        return None
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
    elif not config.from_address and shape is not None and shape.default_from:
        config.from_address = shape.default_from
    config.save()
    if shape is not None and not EmailRule.objects.filter(integration=integration).exists():
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
