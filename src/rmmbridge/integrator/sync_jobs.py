"""Sync jobs a person starts on the sync pages (preview, sync now, apply a preview) and the page that follows them.

They run on the integrator's workers under the integration's lock, so they never overlap a scheduled sync and
a large estate does not hold a web request open. Routes live under /sync/ (namespace `syncjobs`).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.integrations.models import Integration
from rmmbridge.integrator import embedded
from rmmbridge.integrator.dispatch import trigger_now
from rmmbridge.integrator.models import DONE_STATUSES, JobKind, JobRun, JobStatus
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.sync.models import SyncRun
from rmmbridge.sync.plan import ENTITIES


def _queue_sync(request: HttpRequest, integration: Integration, entities: list[str],
                options: dict[str, Any]) -> HttpResponse:
    """Queue the sync job a person asked for and send them to the page that follows it."""
    options = {**options, "user_id": request.user.pk, "actor_label": str(request.user.get_username())}
    job = trigger_now(integration, JobKind.SYNC, entities, options)
    job.max_attempts = 1  # the person is waiting: show a failure at once rather than retrying for minutes
    job.save(update_fields=["max_attempts"])
    return redirect("syncjobs:job_progress", job_id=job.pk)


@require_POST
def start_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a preview (dry run) for the chosen entities, or a sync when `apply` is set; it runs on a worker."""
    integration = get_object_or_404(Integration, pk=pk)
    entities = [e for e in request.POST.get("entities", "").split(",") if e in ENTITIES] or list(ENTITIES)
    device_type = request.POST.get("device_type", "")
    options: dict[str, Any] = {"dry_run": request.POST.get("apply") != "1"}
    if device_type:  # one type, or several comma-separated (Automate's "Workstations" = workstations, laptops, VMs)
        options["device_types"] = [t.strip() for t in device_type.split(",") if t.strip()]
    return _queue_sync(request, integration, entities, options)


def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """Follow a queued preview, sync or apply: the page refreshes itself and opens the run when it is done."""
    job = get_object_or_404(JobRun.objects.select_related("integration"), pk=job_id, kind="sync")
    if job.status in DONE_STATUSES and job.sync_run_id and SyncRun.objects.filter(pk=job.sync_run_id).exists():
        run = SyncRun.objects.get(pk=job.sync_run_id)
        if job.options.get("apply_run"):
            level = messages.success if run.status == "success" else messages.warning
            level(request, f"Applied: {run.get_status_display()}. {run.message}")
        target = reverse("sync:run_detail", kwargs={"run_id": run.pk})
        if is_htmx(request):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    waiting_for_worker = (job.status == JobStatus.QUEUED and settings.RUN_MODE == "embedded"
                          and not embedded.is_running())
    context = {"job": job, "done": job.status in DONE_STATUSES, "waiting_for_worker": waiting_for_worker,
               "what": _job_label(job)}
    if is_htmx(request):  # 286 tells htmx to stop polling: the job ended without a run to open
        return render(request, "sync/_job_status.html", context, status=286 if context["done"] else 200)
    return render(request, "sync/job_progress.html", context)


def _job_label(job: JobRun) -> str:
    options = job.options or {}
    if options.get("apply_run"):
        return f"Applying preview #{options['apply_run']}"
    return "Preparing a preview" if options.get("dry_run") else "Syncing"


@require_POST
def run_apply(request: HttpRequest, run_id: int) -> HttpResponse:
    """Apply all planned rows of a preview, or only the ticked ones."""
    run = get_object_or_404(SyncRun, pk=run_id)
    selected = None
    if request.POST.get("scope") != "all":
        selected = [int(x) for x in request.POST.getlist("row") if x.isdigit()]
        if not selected:
            messages.error(request, "Tick at least one row to apply, or use 'Apply all'.")
            return redirect("sync:run_detail", run_id=run.pk)
    entities = [e for e in run.entities if e in ENTITIES]
    return _queue_sync(request, run.integration, entities, {"apply_run": run.pk, "rows": selected})
