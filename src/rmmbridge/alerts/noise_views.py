"""Pages to manage maintenance windows and the flap/storm thresholds."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.alerts.noise_models import WEEKDAYS, MaintenanceWindow, NoiseSettings, Suppression


class WindowForm(forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Weekly window: tick the days it starts on. Leave empty for a one-off window.")

    class Meta:
        model = MaintenanceWindow
        fields = ["name", "scope", "customer", "site", "asset", "timezone", "starts", "ends", "weekdays",
                  "start_time", "end_time", "enabled"]
        widgets = {"starts": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "ends": forms.DateTimeInput(attrs={"type": "datetime-local"}),
                   "start_time": forms.TimeInput(attrs={"type": "time"}),
                   "end_time": forms.TimeInput(attrs={"type": "time"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        scope = data.get("scope")
        if scope and not data.get(scope):
            self.add_error(scope, f"Choose the {scope} this window covers.")
        return data


def window_list(request: HttpRequest) -> HttpResponse:
    windows = MaintenanceWindow.objects.select_related("customer", "site", "asset")
    recent = Suppression.objects.select_related("window")[:50]
    return render(request, "alerts/window_list.html", {"windows": windows, "recent": recent})


def window_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk) if pk else None
    form = WindowForm(request.POST or None, instance=window)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Maintenance window '{saved.name}' saved.")
        return HttpResponseRedirect(reverse("alerts:window_list"))
    return render(request, "alerts/window_form.html", {"form": form, "window": window},
                  status=422 if request.method == "POST" else 200)


@require_POST
def window_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_object_or_404(MaintenanceWindow, pk=pk)
    window.enabled = not window.enabled
    window.save(update_fields=["enabled"])
    return render(request, "alerts/_window_row.html", {"w": window})


class NoiseSettingsForm(forms.ModelForm):
    class Meta:
        model = NoiseSettings
        fields = ["flap_count", "flap_minutes", "quiet_minutes", "storm_count", "storm_minutes"]


def noise_settings(request: HttpRequest) -> HttpResponse:
    row = NoiseSettings.objects.filter(integration__isnull=True).first() or NoiseSettings()
    form = NoiseSettingsForm(request.POST or None, instance=row)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Noise settings saved.")
        return HttpResponseRedirect(reverse("alerts:noise_settings"))
    return render(request, "alerts/noise_settings.html", {"form": form},
                  status=422 if request.method == "POST" else 200)
