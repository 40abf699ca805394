"""URL routes of rmmbridge.alerts."""

from __future__ import annotations

from django.urls import path

from rmmbridge.alerts import noise_views, rule_views, views

app_name = "alerts"
urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("events/<int:pk>/", views.event_detail, name="event_detail"),
    path("upload/", views.upload_eml, name="upload"),
    path("rules/", views.rule_list, name="rule_list"),
    path("rules/new/", views.rule_edit, name="rule_new"),
    path("rules/<int:pk>/", views.rule_edit, name="rule_edit"),
    path("event-rules/", rule_views.event_rule_list, name="event_rule_list"),
    path("event-rules/new/", rule_views.event_rule_edit, name="event_rule_new"),
    path("event-rules/<int:pk>/", rule_views.event_rule_edit, name="event_rule_edit"),
    path("event-rules/preview/", rule_views.event_rule_preview, name="event_rule_preview"),
    path("integration/<int:integration_id>/", views.integration_alerting, name="integration_alerting"),
    path("integration/<int:integration_id>/test-ticket/", views.test_ticket, name="test_ticket"),
    path("ticket/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
    path("integration/<int:integration_id>/webhook-secret/", views.regenerate_secret, name="regenerate_secret"),
    path("outbox/<int:pk>/retry/", views.outbox_retry, name="outbox_retry"),
    path("windows/", noise_views.window_list, name="window_list"),
    path("windows/new/", noise_views.window_edit, name="window_new"),
    path("windows/<int:pk>/", noise_views.window_edit, name="window_edit"),
    path("windows/<int:pk>/toggle/", noise_views.window_toggle, name="window_toggle"),
    path("noise/", noise_views.noise_settings, name="noise_settings"),
]
