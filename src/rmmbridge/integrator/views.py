"""Operations pages: health (JSON probe + HTML), status overview, per-integration schedule panel, /metrics."""

from __future__ import annotations

import hmac
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import exposition, status
from rmmbridge.integrator.actions import BOOL_FIELDS, INTERVAL_FIELDS, do_update_schedule
from rmmbridge.integrator.dispatch import trigger_now
from rmmbridge.integrator.models import JobKind, JobRun
from rmmbridge.integrator.schedules import refresh_next_run, schedule_for
from rmmbridge.servicedesk.actions import Actor


def _bearer_ok(request: HttpRequest) -> bool:
    """The request carries `Authorization: Bearer <RMMBRIDGE_METRICS_TOKEN>` (and a token is configured)."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    return bool(token and given) and hmac.compare_digest(given.encode(), token.encode())


@login_not_required
def health(request: HttpRequest) -> HttpResponse:
    """JSON for probes (200 healthy / 503 not; counts only with a session or the metrics token); people with a
    browser session get the HTML page."""
    current = status.collect(checks=True)
    ok = status.healthy(current.checks)
    wants_html = "text/html" in request.headers.get("Accept", "") and request.GET.get("format") != "json"
    if wants_html and request.user.is_authenticated:
        return render(request, "integrator/health.html", {"status": current, "ok": ok}, status=200 if ok else 503)
    payload: dict[str, Any] = {
        "status": "ok" if ok else "error",
        "mode": current.mode,
        "checks": current.checks,
    }
    if not (request.user.is_authenticated or _bearer_ok(request)):
        return JsonResponse(payload, status=200 if ok else 503)  # counts only with a session or the token
    payload |= {
        "outbox_backlog": current.outbox_backlog,
        "queue_depth": current.queue_depth,
        "jobs": {"queued": current.queued_jobs, "running": current.running_jobs, "deferred": current.deferred_jobs},
        "integrations_needing_reauth": sum(1 for row in current.integrations if row.status == "needs_reauth"),
        "integration_problems": len(current.problems),  # the detail only for a signed-in person (below)
    }
    if request.user.is_authenticated:
        payload["problems"] = current.problems
        payload["channels"] = current.channels
    return JsonResponse(payload, status=200 if ok else 503)


def overview(request: HttpRequest) -> HttpResponse:
    """Status of every integration's schedule and the recent jobs."""
    current = status.collect(checks=True)
    jobs = JobRun.objects.select_related("integration")[:50]
    return render(request, "integrator/overview.html", {"status": current, "ok": status.healthy(current.checks),
                                                        "jobs": jobs})


class ScheduleForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Integrator on")
    sync_customers = forms.BooleanField(required=False, label="Sync customers and sites")
    customers_interval_minutes = forms.IntegerField(min_value=1, label="every (minutes)")
    sync_users = forms.BooleanField(required=False, label="Sync users")
    users_interval_minutes = forms.IntegerField(min_value=1, label="every (minutes)")
    sync_assets = forms.BooleanField(required=False, label="Sync assets")
    assets_interval_minutes = forms.IntegerField(min_value=1, label="every (minutes)")
    poll_alerts = forms.BooleanField(required=False, label="Poll alerts")
    alerts_interval_minutes = forms.IntegerField(min_value=1, label="every (minutes)")
    deactivate_deleted_assets = forms.BooleanField(required=False, label="Deactivate assets deleted in the RMM")


def integration_schedule(request: HttpRequest, integration_id: int) -> HttpResponse:
    """The integrator panel of one integration: schedule form, last/next run, recent jobs, Run now."""
    integration = get_object_or_404(Integration, pk=integration_id)
    schedule = schedule_for(integration)
    names = [*BOOL_FIELDS, *INTERVAL_FIELDS]
    if request.method == "POST":
        form = ScheduleForm(request.POST)
        if form.is_valid():
            try:
                do_update_schedule(Actor.ui(request.user), integration, {n: form.cleaned_data[n] for n in names})
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, "Integrator schedule saved.")
                return redirect("integrator:integration_schedule", integration_id=integration.pk)
    else:
        form = ScheduleForm(initial={name: getattr(schedule, name) for name in names})
    refresh_next_run(schedule)
    jobs = JobRun.objects.filter(integration=integration)[:20]
    return render(request, "integrator/schedule.html",
                  {"integration": integration, "schedule": schedule, "form": form, "jobs": jobs})


def schedule_summary(request: HttpRequest, integration_id: int) -> HttpResponse:
    """A small fragment (last run, next run, state, last error) the Integrations page can include via HTMX."""
    integration = get_object_or_404(Integration, pk=integration_id)
    schedule = schedule_for(integration)
    refresh_next_run(schedule)
    return render(request, "integrator/_summary.html", {"integration": integration, "schedule": schedule})


@require_POST
def run_now(request: HttpRequest, integration_id: int) -> HttpResponse:
    """Queue a manual sync or alert poll."""
    integration = get_object_or_404(Integration, pk=integration_id)
    kind = request.POST.get("kind", JobKind.SYNC)
    if kind not in (JobKind.SYNC, JobKind.POLL):
        messages.error(request, f"Unknown job kind {kind!r}; choose sync or poll.")
    else:
        job = trigger_now(integration, kind)
        messages.success(request, f"{job.get_kind_display()} queued (job #{job.pk}).")
    return redirect("integrator:integration_schedule", integration_id=integration.pk)


@login_not_required
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus metrics; needs `Authorization: Bearer <RMMBRIDGE_METRICS_TOKEN>`; off (404) when unset."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse("Metrics are off: set RMMBRIDGE_METRICS_TOKEN.\n", status=404, content_type="text/plain")
    header = request.headers.get("Authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not given or not hmac.compare_digest(given.encode(), token.encode()):
        response = HttpResponse("Send Authorization: Bearer <RMMBRIDGE_METRICS_TOKEN>.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(exposition.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
