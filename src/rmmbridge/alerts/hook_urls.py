"""Machine endpoints mounted under /hooks/: vendor webhooks (no login; token + vendor authentication)."""

from __future__ import annotations

from django.urls import path

from rmmbridge.alerts.hook_views import webhook

app_name = "hooks"
urlpatterns = [
    path("<slug:slug>/<str:token>/", webhook, name="webhook"),
]
