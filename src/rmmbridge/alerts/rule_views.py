"""Event rule pages: the ordered list, the edit form, and its preview against the last 200 events (HTMX)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.alerts.event_rules import TextMatch, pattern_problem
from rmmbridge.alerts.models import EventRule
from rmmbridge.alerts.rule_store import PREVIEW_EVENTS, preview, spec_of


class EventRuleForm(forms.ModelForm):
    class Meta:
        model = EventRule
        fields = ["name", "order", "enabled", "integration", "vendor", "condition", "severities", "customer", "site",
                  "asset_type", "text_match", "text", "outcome", "ticket_type", "priority", "assign_to"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")
        self.fields["assign_to"].queryset = users  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problem = pattern_problem(TextMatch(data.get("text_match") or ""), data.get("text") or "")
        if problem:
            self.add_error("text", problem)
        return data


def event_rule_list(request: HttpRequest) -> HttpResponse:
    rules = EventRule.objects.select_related("integration", "customer", "site", "asset_type", "ticket_type",
                                             "assign_to")
    own = sorted((r for r in rules if r.integration_id is not None),
                 key=lambda r: (r.integration.name if r.integration else "", r.order, r.pk))
    shared = sorted((r for r in rules if r.integration_id is None), key=lambda r: (r.order, r.pk))
    return render(request, "alerts/event_rule_list.html", {"own": own, "shared": shared})


def event_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(EventRule, pk=pk) if pk else None
    form = EventRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = form.save()
        messages.success(request, f"Event rule '{saved.name}' saved.")
        return HttpResponseRedirect(reverse("alerts:event_rule_list"))
    return render(request, "alerts/event_rule_form.html", {"form": form, "rule": rule, "limit": PREVIEW_EVENTS})


@require_POST
def event_rule_preview(request: HttpRequest) -> HttpResponse:
    """The form as it stands (unsaved), tested against what the last events' alerts looked like."""
    form = EventRuleForm(request.POST)
    if not form.is_valid():
        return render(request, "alerts/_event_rule_preview.html", {"errors": form.errors})
    rule = form.save(commit=False)
    rule.pk = 0
    rows = preview(spec_of(rule))
    matched = [row for row in rows if row[2]]
    return render(request, "alerts/_event_rule_preview.html",
                  {"rows": rows, "matched": matched, "rule": rule, "limit": PREVIEW_EVENTS})
