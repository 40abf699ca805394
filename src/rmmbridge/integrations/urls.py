"""URL routes of the integrations pages."""

from __future__ import annotations

from django.urls import path

from rmmbridge.integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_list, name="integration_list"),
    path("modules/<slug:slug>/<str:action>/", views.module_toggle, name="module_toggle"),
    path("add/<slug:slug>/", views.integration_add, name="integration_add"),
    path("<int:pk>/", views.integration_detail, name="integration_detail"),
    path("<int:pk>/test/", views.integration_test, name="integration_test"),
    path("<int:pk>/log/", views.request_log, name="request_log"),
    path("<int:pk>/<str:action>/", views.integration_toggle, name="integration_toggle"),
]
