"""Alert models: per-integration alerting config, e-mail rules, raw alert events, alert state and resolve outbox."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.db import models

from rmmbridge.alerts.decide import CloseBehaviour
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import EndUser
from rmmbridge.tickets.models import Ticket, TicketType


def new_token() -> str:
    return secrets.token_urlsafe(24)


class WebhookAuth(models.TextChoices):
    TOKEN_ONLY = "token", "URL token only"
    SHARED_SECRET = "secret", "Shared secret header (X-Webhook-Secret)"
    HMAC_SHA256 = "hmac", "HMAC-SHA256 signature of the body (X-Signature-256)"


class AlertingConfig(models.Model):
    """Alerting options of one integration (Halo: default ticket type, New Alert User, from address…)."""

    integration = models.OneToOneField(Integration, on_delete=models.CASCADE, related_name="alerting")
    enabled = models.BooleanField(default=False)
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="Ticket type for new alerts.")
    new_alert_user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                       help_text="End user (and so customer) of tickets whose device matches no asset.")
    from_address = models.CharField(max_length=254, blank=True, help_text="Sender of the RMM's alert e-mails.")
    close_behaviour = models.CharField(
        max_length=20, default=CloseBehaviour.CLOSE.value,
        choices=[(CloseBehaviour.CLOSE.value, "Close the ticket with a note"),
                 (CloseBehaviour.NOTE_IF_WORKED.value,
                  "When a person has worked the ticket, add the note but leave it open")],
    )
    webhook_token = models.CharField(max_length=64, unique=True, default=new_token)
    webhook_auth = models.CharField(max_length=10, choices=WebhookAuth.choices, default=WebhookAuth.SHARED_SECRET)
    webhook_secret_encrypted = models.TextField(
        blank=True, editable=False, help_text="Shared secret / HMAC key of the webhook, encrypted (SecretBox).")
    recovery_needs_dmarc = models.BooleanField(
        default=False, verbose_name="Recovery e-mails need DMARC pass",
        help_text="When the RMM's API cannot confirm that an alert is resolved, close its ticket from a recovery "
                  "e-mail only if the receiving mail server's Authentication-Results header says dmarc=pass. "
                  "Switch on only when your mail server adds that header (the built-in SMTP receiver does not).")
    resolved_lookback_hours = models.PositiveIntegerField(default=24,
                                                          help_text="How far back a poll reads resolved alerts.")
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_result = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Alerting for {self.integration}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.webhook_secret_encrypted:
            self.regenerate_webhook_secret()
        super().save(*args, **kwargs)

    @property
    def webhook_secret(self) -> str:
        """The webhook's shared secret / HMAC key (decrypted; shown to a person only when regenerated)."""
        from rmmbridge.common.secrets import default_box

        if not self.webhook_secret_encrypted:
            return ""
        return str(default_box().decrypt_json(self.webhook_secret_encrypted).get("secret", ""))

    def set_webhook_secret(self, secret: str) -> None:
        from rmmbridge.common.secrets import default_box

        self.webhook_secret_encrypted = default_box().encrypt_json({"secret": secret})

    def regenerate_webhook_secret(self) -> str:
        """A new random secret (returned once so it can be pasted into the RMM)."""
        secret = new_token()
        self.set_webhook_secret(secret)
        return secret


class RuleAction(models.TextChoices):
    OPEN_OR_UPDATE = "open", "Open or update an alert ticket"
    CLOSE_ON_RECOVERY = "close", "Close the alert ticket (recovery)"
    IGNORE = "ignore", "Ignore (keep the mail, no ticket)"


class FromMatch(models.TextChoices):
    ANY = "any", "Any sender"
    EXACT = "exact", "Is exactly"
    CONTAINS = "contains", "Contains"


class EmailRule(models.Model):
    """An ordered e-mail rule (Halo: Configuration > Email > Email Rules)."""

    name = models.CharField(max_length=200, unique=True)
    order = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    enabled = models.BooleanField(default=True)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="email_rules")
    from_match = models.CharField(max_length=10, choices=FromMatch.choices, default=FromMatch.EXACT)
    from_address = models.CharField(max_length=254, blank=True)
    subject_pattern = models.CharField(max_length=500, blank=True, help_text="Regular expression on the subject.")
    body_pattern = models.CharField(max_length=500, blank=True, help_text="Regular expression on the body text.")
    header_name = models.CharField(max_length=100, blank=True)
    header_pattern = models.CharField(max_length=500, blank=True)
    alert_id_pattern = models.CharField(
        max_length=500, blank=True, default=r"Alert\{([^}\s]+)\}",
        help_text="Regular expression whose first group is the RMM alert id (searched in subject, then body).",
    )
    recovery_pattern = models.CharField(max_length=500, blank=True,
                                        help_text="When the subject matches this, the mail is a recovery (close).")
    action = models.CharField(max_length=10, choices=RuleAction.choices, default=RuleAction.OPEN_OR_UPDATE)
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    markers = models.JSONField(default=list, blank=True,
                               help_text='[{"start": "Device:", "end": "\\n", "field": "hostname"}] — text between '
                                         "the markers goes to the field (summary, details, hostname, device_id, "
                                         "condition, ip_address).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail (upload/CLI)"
    SMTP = "smtp", "SMTP receiver"
    IMAP = "imap", "IMAP mailbox"
    WEBHOOK = "webhook", "Webhook"
    POLL = "poll", "Poll"
    TEST = "test", "Test ticket"


EMAIL_CHANNELS = (Channel.EMAIL, Channel.SMTP, Channel.IMAP)


class EventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    DUPLICATE = "duplicate", "Duplicate"
    UNMATCHED = "unmatched", "Unmatched"
    REJECTED = "rejected", "Rejected"
    ERROR = "error", "Error"


class AlertEvent(models.Model):
    """One event from any channel, stored raw before anything else happens."""

    channel = models.CharField(max_length=10, choices=Channel.choices)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="alert_events")
    received_at = models.DateTimeField(db_index=True)
    raw = models.BinaryField()
    headers = models.JSONField(default=dict, blank=True)
    message_id = models.CharField(max_length=255, blank=True, db_index=True,
                                  help_text="E-mail Message-ID (or a hash of the mail when it has none).")
    summary = models.CharField(max_length=255, blank=True, help_text="Subject or alert message, for lists.")
    status = models.CharField(max_length=10, choices=EventStatus.choices, default=EventStatus.PENDING)
    reason = models.TextField(blank=True)
    alert_key = models.CharField(max_length=255, blank=True)
    rule = models.ForeignKey(EmailRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)
    #: The event rule that decided the event's (first) alert, and why no ticket came of it when none did
    #: (a reason code: "event_rule", "note_only"; noise control adds its own).
    event_rule = models.ForeignKey("alerts.EventRule", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    suppressed = models.CharField(max_length=20, blank=True, db_index=True)
    #: What event rules look at (vendor, condition, severity, customer, site, asset type, message), kept for
    #: the "test this rule against the last 200 events" preview.
    rule_view = models.JSONField(default=dict, blank=True)

    #: What intake found odd about the event while reading it (not a column: appended to `reason` when finished).
    intake_notes: str = ""

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "-id"]), models.Index(fields=["channel", "-id"])]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} event #{self.pk} ({self.status})"

    @property
    def raw_text(self) -> str:
        return bytes(self.raw).decode("utf-8", errors="replace")


class AlertState(models.Model):
    """The consolidated state of one alert condition: key → ticket, occurrences, last seen, resolved."""

    scope = models.CharField(max_length=20, help_text="Integration id, or 'mail' for rules without integration.")
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="alert_states")
    key = models.CharField(max_length=255, help_text="RMM alert id, or device + condition when there is none.")
    external_id = models.CharField(max_length=255, blank=True, help_text="The RMM's alert id, used to resolve it.")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="alert_states")
    device_external_id = models.CharField(max_length=255, blank=True)
    hostname = models.CharField(max_length=255, blank=True)
    message = models.TextField(blank=True)
    occurrences = models.PositiveIntegerField(default=0)
    last_occurrence_id = models.CharField(max_length=255, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_here = models.BooleanField(default=False, help_text="The ticket was closed here (resolve sent to the RMM).")

    class Meta:
        ordering = ["-last_seen"]
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="alertstate_unique_key")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    UNSUPPORTED = "unsupported", "Not supported by the vendor's API"


class ResolveOutbox(models.Model):
    """A resolve to send to the RMM, written in the same transaction as the ticket close; retried until sent."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="resolve_outbox")
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    external_id = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"Resolve {self.external_id} ({self.status})"


class Mailbox(models.Model):
    """An IMAP mailbox alert e-mails are read from; the password is stored encrypted, never shown."""

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(default=993)
    user = models.CharField(max_length=255)
    password_encrypted = models.TextField(blank=True, editable=False)
    folder = models.CharField(max_length=255, default="INBOX")
    use_ssl = models.BooleanField(default=True)
    enabled = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_result = models.TextField(blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_password(self, password: str) -> None:
        from rmmbridge.common.secrets import default_box

        self.password_encrypted = default_box().encrypt_json({"password": password})

    def get_password(self) -> str:
        from rmmbridge.common.secrets import default_box

        if not self.password_encrypted:
            return ""
        return str(default_box().decrypt_json(self.password_encrypted).get("password", ""))


class EventRule(models.Model):
    """An ordered event rule: what a new alert becomes (an integration's rules run before the global ones)."""

    name = models.CharField(max_length=200)
    order = models.PositiveIntegerField(default=100, help_text="Lower runs first (within its integration, or global).")
    enabled = models.BooleanField(default=True)
    integration = models.ForeignKey(Integration, null=True, blank=True, on_delete=models.CASCADE,
                                    related_name="event_rules", help_text="Empty: a global rule.")
    vendor = models.CharField(max_length=40, blank=True, help_text="Vendor slug (e.g. datto_rmm); empty: any.")
    condition = models.CharField(max_length=255, blank=True,
                                 help_text="Text contained in the alert type / condition (any case); empty: any.")
    severities = models.CharField(max_length=255, blank=True,
                                  help_text="Comma-separated severity labels, e.g. 'critical, high'; empty: any.")
    customer = models.ForeignKey("servicedesk.Customer", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="+")
    site = models.ForeignKey("servicedesk.Site", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    asset_type = models.ForeignKey("servicedesk.AssetType", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="+")
    text_match = models.CharField(max_length=10, blank=True, default="", verbose_name="message text match",
                                  choices=[("", "Any message"), ("contains", "Message contains"),
                                           ("regex", "Message matches regular expression")])
    text = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=12, default="open_ticket",
                               choices=[("open_ticket", "Open a ticket"), ("note_only", "Note on an open ticket only"),
                                        ("ignore", "Ignore (recorded)")])
    ticket_type = models.ForeignKey(TicketType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    priority = models.PositiveSmallIntegerField(null=True, blank=True, help_text="1 (critical) to 4 (low).")
    assign_to = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name="assigned user",
                                  help_text="Tickets this rule opens are assigned to this active staff user.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["integration_id", "order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from rmmbridge.alerts.event_rules import TextMatch, pattern_problem

        problem = pattern_problem(TextMatch(self.text_match), self.text)
        if problem:
            raise ValidationError({"text": problem})
        if self.priority is not None and not 1 <= self.priority <= 4:
            raise ValidationError({"priority": "Priority is 1 (critical) to 4 (low)."})


from rmmbridge.alerts.noise_models import (  # noqa: E402,F401  (noise control lives in its own module)
    AlertNoise,
    FlapTrack,
    MaintenanceWindow,
    NoiseSettings,
    StormGroup,
    StormMember,
    Suppression,
)
