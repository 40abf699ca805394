"""Integrations pages: vendor modules, add dialog, setup page with Test credentials, request log."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from rmmbridge.common.secrets import SecretDecryptError
from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.base import ConnectionTestResult
from rmmbridge.integrations import actions
from rmmbridge.integrations.forms import NAME_FIELD, CredentialsForm
from rmmbridge.integrations.models import Integration, IntegrationModule, RequestLogEntry
from rmmbridge.integrations.panels import panel_links
from rmmbridge.integrations.words import capability_words
from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.roles import can_administer

BODY_PREVIEW = 300
LOG_PAGE_SIZE = 100



def _vendor_or_404(slug: str) -> Any:
    cls = REGISTRY.get(slug)
    if cls is None:
        raise Http404(f"Unknown vendor '{slug}'.")
    return cls


def _modules(add_forms: dict[str, CredentialsForm] | None = None) -> list[dict[str, Any]]:
    enabled = dict(IntegrationModule.objects.values_list("vendor", "enabled"))
    by_vendor: dict[str, list[Integration]] = {}
    for integration in Integration.objects.all():
        by_vendor.setdefault(integration.vendor, []).append(integration)
    modules = []
    for slug, cls in sorted(REGISTRY.items(), key=lambda item: item[1].name.lower()):
        modules.append({
            "slug": slug,
            "name": cls.name,
            "enabled": enabled.get(slug, False),
            "capabilities": capability_words(cls.capabilities),
            "integrations": by_vendor.get(slug, []),
            "form": (add_forms or {}).get(slug) or CredentialsForm(cls.credentials_model, prefix=slug),
        })
    return modules


def integration_list(request: HttpRequest) -> HttpResponse:
    """Every registered vendor as a module (enable + / disable x) with its integrations and their status."""
    modules = _modules()
    unregistered = Integration.objects.exclude(vendor__in=list(REGISTRY))
    return render(request, "integrations/integration_list.html",
                  {"modules": modules, "unregistered": unregistered, "open_dialog": ""})


@require_POST
def module_toggle(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    """Enable (+) or disable (x) a vendor module."""
    cls = _vendor_or_404(slug)
    if action not in {"enable", "disable"}:
        raise Http404("Unknown action.")
    enabled = action == "enable"
    actions.do_set_module_enabled(Actor.ui(request.user), slug, enabled)
    if enabled:
        messages.success(request, f"{cls.name} enabled: add an integration with its credentials.")
    else:
        messages.success(request, f"{cls.name} disabled, together with its integrations.")
    return redirect("integrations:integration_list")


@require_http_methods(["GET", "POST"])
def integration_add(request: HttpRequest, slug: str) -> HttpResponse:
    """The add dialog's form; on POST test the credentials and create the integration, or show what to fix."""
    cls = _vendor_or_404(slug)
    form = CredentialsForm(cls.credentials_model, request.POST or None, prefix=slug)
    error: ConnectionTestResult | None = None
    if request.method == "POST" and form.is_valid():
        try:
            integration = actions.do_create_integration(
                Actor.ui(request.user), slug, form.cleaned_data[NAME_FIELD], form.credentials(),
                test=not request.POST.get("skip_test"),
            )
        except actions.CredentialTestFailed as exc:
            error = exc.result
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, f"Integration '{integration.name}' added.")
            url = reverse("integrations:integration_detail", args=[integration.pk])
            if is_htmx(request):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = url
                return response
            return HttpResponseRedirect(url)
    context = {"module": {"slug": slug, "name": cls.name}, "form": form, "error": error}
    if is_htmx(request):
        return render(request, "integrations/_add_form.html", context)
    if request.method == "GET" and not IntegrationModule.objects.filter(vendor=slug, enabled=True).exists():
        messages.info(request, f"Enable {cls.name} with + first, then add its integration.")
        return redirect("integrations:integration_list")
    return render(request, "integrations/integration_list.html",
                  {"modules": _modules({slug: form}), "open_dialog": slug, "add_error": error,
                   "unregistered": Integration.objects.exclude(vendor__in=list(REGISTRY))})


def _detail_form(integration: Integration, data: Any = None) -> CredentialsForm:
    spec = integration.connector_class.credentials_model
    try:
        stored = integration.get_credentials()
    except SecretDecryptError:
        stored = {}
    secrets = set(spec.secret_keys())
    initial: dict[str, Any] = {NAME_FIELD: integration.name}
    initial.update({k: v for k, v in stored.items() if k not in secrets})
    return CredentialsForm(spec, data, initial=initial, editing=True,
                           secrets_set={k: bool(stored.get(k)) for k in secrets})


def _detail_context(integration: Integration, form: CredentialsForm, request: HttpRequest) -> dict[str, Any]:
    try:
        integration.get_credentials()
        decrypt_error = ""
    except SecretDecryptError as exc:
        decrypt_error = str(exc)
    return {
        "integration": integration,
        "form": form,
        "panels": panel_links(int(integration.pk)),
        "recent_log": _log_rows(integration.request_log.all()[:10]),
        "decrypt_error": decrypt_error,
        "show_bodies": can_administer(request.user),
    }


def _credentials_changed(integration: Integration, form: CredentialsForm) -> bool:
    """Whether the (valid) form holds credentials that differ from the stored ones (invalid ones count)."""
    try:
        return actions.merged_credentials(integration, form.credentials()) != integration.get_credentials()
    except (ValidationError, SecretDecryptError):
        return True


@require_http_methods(["GET", "POST"])
def integration_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Setup page: name and credentials (secrets never shown), Test credentials, status, panels, recent requests."""
    integration = get_object_or_404(Integration, pk=pk)
    if integration.vendor not in REGISTRY:
        messages.error(request, f"Vendor '{integration.vendor}' is not installed; this integration cannot be edited.")
        return redirect("integrations:integration_list")
    form = _detail_form(integration, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = Actor.ui(request.user)
        try:
            result = None
            if _credentials_changed(integration, form):
                result = actions.do_update_credentials(actor, integration, form.credentials(),
                                                       test=not request.POST.get("skip_test"))
            actions.do_rename_integration(actor, integration, form.cleaned_data[NAME_FIELD])
        except actions.CredentialTestFailed as exc:
            form.add_error(None, f"{exc.result.message} – the stored credentials were kept.")
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
        else:
            messages.success(request, "Saved." + (f" {result.message}" if result else ""))
            return redirect("integrations:integration_detail", pk=integration.pk)
    return render(request, "integrations/integration_detail.html", _detail_context(integration, form, request))


@require_POST
def integration_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Test credentials (HTMX): values typed in the form are tested first and saved only when valid."""
    integration = get_object_or_404(Integration, pk=pk)
    actor = Actor.ui(request.user)
    form = _detail_form(integration, request.POST)
    changes: dict[str, Any] = {}
    if form.is_valid() and _credentials_changed(integration, form):
        changes = form.credentials()
    result: ConnectionTestResult
    saved = False
    try:
        if changes:
            tested = actions.do_update_credentials(actor, integration, changes, test=True)
            result = tested or actions.do_test_integration(actor, integration)
            saved = True
        else:
            result = actions.do_test_integration(actor, integration)
    except actions.CredentialTestFailed as exc:
        result = exc.result
        integration.refresh_from_db()
    except ValidationError as exc:
        result = ConnectionTestResult(ok=False, message=" ".join(exc.messages), error_key="invalid_config")
    context = {"integration": integration, "result": result, "saved": saved, "unsaved_rejected": bool(changes)
               and not result.ok, "oob": is_htmx(request)}
    if is_htmx(request):
        return render(request, "integrations/_test_result.html", context)
    if result.ok:
        messages.success(request, f"Validation successful – {result.message}")
    else:
        messages.error(request, result.message)
    return redirect("integrations:integration_detail", pk=integration.pk)


@require_POST
def integration_toggle(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Enable or disable one integration."""
    if action not in {"enable", "disable"}:
        raise Http404("Unknown action.")
    integration = get_object_or_404(Integration, pk=pk)
    enabled = action == "enable"
    actions.do_set_enabled(Actor.ui(request.user), integration, enabled)
    messages.success(request, f"'{integration.name}' {'enabled' if enabled else 'disabled'}.")
    target = request.POST.get("next", "")
    if not target.startswith("/") or target.startswith("//"):
        target = reverse("integrations:integration_detail", args=[integration.pk])
    return redirect(target)


def _preview(text: str) -> str:
    return text if len(text) <= BODY_PREVIEW else text[:BODY_PREVIEW] + f"… [{len(text) - BODY_PREVIEW} more]"


def _log_rows(entries: Any) -> list[dict[str, Any]]:
    return [
        {"entry": e, "request_preview": _preview(e.request_body), "response_preview": _preview(e.response_body),
         "truncated": len(e.request_body) > BODY_PREVIEW or len(e.response_body) > BODY_PREVIEW}
        for e in entries
    ]


def request_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The integration's request log, newest first, bodies truncated (full redacted body on expand)."""
    integration = get_object_or_404(Integration, pk=pk)
    entries = RequestLogEntry.objects.filter(integration=integration).order_by("-id")
    failed_only = request.GET.get("failed") == "1"
    if failed_only:
        entries = entries.filter(Q(status__gte=400) | Q(status__isnull=True) | ~Q(error=""))
    page = Paginator(entries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "integrations/request_log.html",
                  {"integration": integration, "page": page, "rows": _log_rows(page.object_list),
                   "failed_only": failed_only, "show_bodies": can_administer(request.user)})
