"""Web shell views: the dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rmmbridge.servicedesk.models import Asset, Customer, EndUser, Site


def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts of the core objects, and links to each section."""
    counts = {
        "Customers": Customer.objects.count(),
        "Sites": Site.objects.count(),
        "Users": EndUser.objects.count(),
        "Assets": Asset.objects.filter(active=True).count(),
    }
    return render(request, "web/dashboard.html", {"counts": counts})
