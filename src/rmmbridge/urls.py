"""Root URL configuration: each app mounts its own urls module."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("rmmbridge.web.urls")),
    path("", include("rmmbridge.servicedesk.urls")),
    path("integrations/", include("rmmbridge.buttons.urls")),  # before integrations: <pk>/<action>/ catches all
    path("integrations/", include("rmmbridge.integrations.urls")),
    path("sync/", include("rmmbridge.sync.urls")),
    path("sync/", include("rmmbridge.integrator.sync_job_urls")),
    path("tickets/", include("rmmbridge.tickets.urls")),
    path("alerts/", include("rmmbridge.alerts.urls")),
    path("hooks/", include("rmmbridge.alerts.hook_urls")),
    path("ops/", include("rmmbridge.integrator.urls")),
    path("metrics", include("rmmbridge.integrator.metrics_urls")),
    path("imports/spreadsheet/", include("rmmbridge.spreadsheets.urls")),
    path("", include("rmmbridge.api.urls")),  # /api/v1/ and the API tokens page
]
