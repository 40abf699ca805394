"""Alert pages: event list (unmatched mail with reasons), .eml upload, e-mail rules, per-integration alerting setup."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.alerts.intake.rules import validate_pattern
from rmmbridge.alerts.models import AlertEvent, AlertingConfig, AlertState, EmailRule, EventStatus, ResolveOutbox
from rmmbridge.alerts.outbox import can_resolve, retry_now
from rmmbridge.alerts.processing import create_test_ticket, ingest_email
from rmmbridge.alerts.setup import enable_alerting, vendor_channels
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.models import EndUser

MAX_UPLOAD_BYTES = 25 * 1024 * 1024


def event_list(request: HttpRequest) -> HttpResponse:
    """Every stored alert event, newest first, filterable by status and channel; shows why mail made no ticket."""
    events = AlertEvent.objects.select_related("integration", "rule").defer("raw")
    status = request.GET.get("status", "")
    channel = request.GET.get("channel", "")
    if status:
        events = events.filter(status=status)
    if channel:
        events = events.filter(channel=channel)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "alerts/event_list.html", {
        "page": page, "groups": group_polls(list(page.object_list)), "status": status, "channel": channel,
        "statuses": EventStatus.choices, "channels": AlertEvent._meta.get_field("channel").choices,
    })


@dataclass
class EventGroup:
    """One row of the events list: an event, or consecutive polls of one integration with the same outcome."""

    first: AlertEvent
    count: int = 1
    oldest: Any = None
    alerts: list[dict[str, str]] = field(default_factory=list)

    @property
    def is_polls(self) -> bool:
        return self.first.channel == "poll"


def group_polls(events: list[AlertEvent]) -> list[EventGroup]:
    """Fold runs of polls that changed nothing new into one row; list the alerts of each poll row's newest poll."""
    groups: list[EventGroup] = []
    for event in events:
        last = groups[-1] if groups else None
        if (last is not None and last.is_polls and event.channel == "poll"
                and event.integration_id == last.first.integration_id and event.status == last.first.status
                and event.reason == last.first.reason):
            last.count += 1
            last.oldest = event.received_at
            continue
        groups.append(EventGroup(event, oldest=event.received_at))
    polls = {g.first.pk: g for g in groups if g.is_polls}
    for pk, raw in AlertEvent.objects.filter(pk__in=list(polls)).values_list("pk", "raw"):
        polls[pk].alerts = _poll_alerts(bytes(raw))
    return groups


def _poll_alerts(raw: bytes) -> list[dict[str, str]]:
    """The alerts one poll returned, in words: [{state, device, message}]."""
    try:
        payload = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return []
    alerts = []
    for state in ("open", "resolved"):
        for item in payload.get(state) or []:
            if isinstance(item, dict):
                alerts.append({"state": state, "device": str(item.get("hostname") or item.get("device_external_id")
                                                             or "unknown device"),
                               "message": str(item.get("message") or item.get("alert_type") or "")[:200]})
    return alerts


def _readable(raw: str) -> str:
    """A JSON payload (webhook, poll) indented for reading; anything else (an e-mail) as it came."""
    text = raw.strip()
    if not text.startswith(("{", "[")) or len(text) > 2_000_000:
        return raw
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(AlertEvent.objects.select_related("integration", "rule", "ticket"), pk=pk)
    raw = _readable(event.raw_text)
    return render(request, "alerts/event_detail.html", {
        "event": event, "raw": raw[:200_000], "raw_cut": len(raw) > 200_000,
    })


class UploadForm(forms.Form):
    eml = forms.FileField(label=".eml file", help_text="An alert e-mail saved as .eml (RFC 5322).")


def upload_eml(request: HttpRequest) -> HttpResponse:
    """Upload an .eml: it goes through the same rules as mail from the SMTP receiver or IMAP."""
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    outcome = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["eml"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("eml", f"The file is {upload.size:,} bytes; the limit is {MAX_UPLOAD_BYTES:,}.")
        else:
            outcome = ingest_email(upload.read())
    return render(request, "alerts/upload.html", {"form": form, "outcome": outcome})


class EmailRuleForm(forms.ModelForm):
    class Meta:
        model = EmailRule
        fields = ["name", "order", "enabled", "integration", "from_match", "from_address", "subject_pattern",
                  "body_pattern", "header_name", "header_pattern", "alert_id_pattern", "recovery_pattern", "action",
                  "ticket_type", "markers"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("subject_pattern", "body_pattern", "header_pattern", "alert_id_pattern", "recovery_pattern"):
            problem = validate_pattern(data.get(name) or "")
            if problem:
                self.add_error(name, problem)
        markers = data.get("markers") or []
        if not isinstance(markers, list) or not all(isinstance(m, dict) and m.get("start") and m.get("field")
                                                     for m in markers):
            self.add_error("markers", 'Markers must be a list like [{"start": "Device:", "end": "\\n", '
                                      '"field": "hostname"}].')
        return data


def rule_list(request: HttpRequest) -> HttpResponse:
    return render(request, "alerts/rule_list.html",
                  {"rules": EmailRule.objects.select_related("integration", "ticket_type")})


def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(EmailRule, pk=pk) if pk else None
    form = EmailRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Rule '{saved.name}' saved.")
        return HttpResponseRedirect(reverse("alerts:rule_list"))
    return render(request, "alerts/rule_form.html", {"form": form, "rule": rule})


class AlertingForm(forms.ModelForm):
    """The alerting options; only those of the channels the vendor has (no From address without e-mails)."""

    class Meta:
        model = AlertingConfig
        fields = ["enabled", "ticket_type", "new_alert_user", "from_address", "close_behaviour", "webhook_auth",
                  "recovery_needs_dmarc", "resolved_lookback_hours"]

    def __init__(self, *args: Any, channels: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if channels is not None and not channels.email:
            del self.fields["from_address"]
        if channels is not None and not channels.webhook:
            del self.fields["webhook_auth"]
        if channels is not None and not channels.poll:
            del self.fields["resolved_lookback_hours"]
        user = self.fields["new_alert_user"]
        user.queryset = EndUser.objects.select_related("customer", "site").order_by(  # type: ignore[attr-defined]
            "customer__name", "name")
        user.label_from_instance = _user_choice  # type: ignore[attr-defined]
        user.widget.attrs.update({"data-search": "users"})
        user.help_text = ("The user (and so the customer) of tickets whose device matches no asset, and the user of "
                          "tickets on an asset without a user when it is one of that asset's customer's users "
                          "(a ticket's user always belongs to its customer).")


def _user_choice(user: EndUser) -> str:
    """'Alex Morgan <alex@…> · Kestrel Logistics Inc / Depot 1': four users of one name stay apart."""
    email = f" <{user.email}>" if user.email else ""
    return f"{user.name}{email} · {user.customer.name} / {user.site.name}"


def integration_alerting(request: HttpRequest, integration_id: int) -> HttpResponse:
    """The integration's Alerting setup: options, its e-mail rule, webhook URL, test ticket, resolve outbox."""
    integration = get_object_or_404(Integration, pk=integration_id)
    config, _ = AlertingConfig.objects.get_or_create(integration=integration)
    channels = vendor_channels(integration.vendor)
    form = AlertingForm(request.POST or None, instance=config, channels=channels)
    if request.method == "POST" and form.is_valid():
        was_enabled = AlertingConfig.objects.filter(pk=config.pk, enabled=True).exists()
        config = form.save()
        if config.enabled and not was_enabled:
            enable_alerting(integration, ticket_type=config.ticket_type, from_address=config.from_address,
                            new_alert_user=config.new_alert_user)
        messages.success(request, f"Alerting for {integration.name} saved.")
        return HttpResponseRedirect(reverse("alerts:integration_alerting", args=[integration.pk]))
    hook_url = request.build_absolute_uri(reverse("hooks:webhook", args=[integration.vendor, config.webhook_token]))
    return render(request, "alerts/integration_alerting.html", {
        "integration": integration,
        "config": config,
        "form": form,
        "hook_url": hook_url,
        "rules": EmailRule.objects.filter(integration=integration),
        "outbox": ResolveOutbox.objects.filter(integration=integration).select_related("ticket")[:50],
        "states": AlertState.objects.filter(integration=integration).select_related("ticket")[:50],
        "can_resolve": can_resolve(integration),
        "channels": channels,
        "webhook_template": _webhook_template(integration.vendor),
    })


def _webhook_template(vendor: str) -> dict[str, str] | None:
    """The body to paste into the vendor's webhook settings, when the vendor's payload is user-templated."""
    if vendor != "datto_rmm":
        return None
    from rmmbridge.connectors.datto_rmm.alerts import template_json

    return {"triggered": template_json(), "resolved": template_json(resolved=True)}


def ticket_panel(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The RMM alert panel of a ticket alone (HTMX refresh: the resolve status updates in place)."""
    from rmmbridge.alerts.panels import ticket_alert_panel
    from rmmbridge.tickets.models import Ticket

    ticket = get_object_or_404(Ticket, pk=ticket_id)
    return HttpResponse(ticket_alert_panel(ticket) or "")


@require_POST
def test_ticket(request: HttpRequest, integration_id: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=integration_id)
    outcome = create_test_ticket(integration)
    if outcome.ticket_id:
        messages.success(request, f"Test ticket #{outcome.ticket_id} created.")
    else:
        messages.error(request, f"No test ticket: {outcome.reason}")
    return HttpResponseRedirect(reverse("alerts:integration_alerting", args=[integration.pk]))


@require_POST
def regenerate_secret(request: HttpRequest, integration_id: int) -> HttpResponse:
    """A new webhook secret, shown once on the answer page so it can be pasted into the RMM."""
    integration = get_object_or_404(Integration, pk=integration_id)
    config, _ = AlertingConfig.objects.get_or_create(integration=integration)
    secret = config.regenerate_webhook_secret()
    config.save()
    # Shown once on this page, never put in the messages cookie or a URL; the page is not cached.
    response = render(request, "alerts/webhook_secret.html", {"integration": integration, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    row = get_object_or_404(ResolveOutbox, pk=pk)
    retry_now(row)
    messages.success(request, f"Resolve of {row.external_id} will be retried on the next delivery run.")
    return HttpResponseRedirect(reverse("alerts:integration_alerting", args=[row.integration_id]))
