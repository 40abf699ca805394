"""The device-buttons page of an integration: list, add, edit, remove, restore the vendor's defaults."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from rmmbridge.buttons import actions
from rmmbridge.buttons.defaults import DEFAULT_BUTTONS, web_base_url
from rmmbridge.buttons.models import DeviceButton
from rmmbridge.integrations.models import Integration
from rmmbridge.servicedesk.actions import Actor


def integration_buttons(request: HttpRequest, pk: int) -> HttpResponse:
    """The integration's buttons with forms to change them."""
    integration = get_object_or_404(Integration, pk=pk)
    return render(request, "buttons/integration_buttons.html", {
        "integration": integration,
        "buttons": DeviceButton.objects.filter(integration=integration),
        "base_url": web_base_url(integration.vendor, integration.get_credentials()),
        "has_defaults": bool(DEFAULT_BUTTONS.get(integration.vendor)),
    })


def _report(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@require_POST
def button_add(request: HttpRequest, pk: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=pk)
    try:
        button = actions.do_add_button(Actor.ui(request.user), integration, request.POST.get("label", ""),
                                       request.POST.get("url_template", ""))
        messages.success(request, f"Added the button '{button.label}'.")
    except ValidationError as exc:
        _report(request, exc)
    return redirect("buttons:integration_buttons", pk=integration.pk)


@require_POST
def button_edit(request: HttpRequest, pk: int, button_id: int) -> HttpResponse:
    button = get_object_or_404(DeviceButton.objects.select_related("integration"), pk=button_id, integration_id=pk)
    try:
        if actions.do_update_button(Actor.ui(request.user), button, request.POST.get("label", ""),
                                    request.POST.get("url_template", "")):
            messages.success(request, f"Saved the button '{button.label}'.")
    except ValidationError as exc:
        _report(request, exc)
    return redirect("buttons:integration_buttons", pk=pk)


@require_POST
def button_delete(request: HttpRequest, pk: int, button_id: int) -> HttpResponse:
    button = get_object_or_404(DeviceButton, pk=button_id, integration_id=pk)
    actions.do_delete_button(Actor.ui(request.user), button)
    messages.success(request, f"Removed the button '{button.label}'.")
    return redirect("buttons:integration_buttons", pk=pk)


@require_POST
def button_defaults(request: HttpRequest, pk: int) -> HttpResponse:
    integration = get_object_or_404(Integration, pk=pk)
    added = actions.do_add_default_buttons(Actor.ui(request.user), integration)
    messages.success(request, f"Added {len(added)} default button(s)." if added else "The defaults are all there.")
    return redirect("buttons:integration_buttons", pk=pk)
