"""URL routes of rmmbridge.integrator, mounted at /ops/."""

from django.urls import path

from rmmbridge.integrator import views

app_name = "integrator"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("health/", views.health, name="health"),
    path("integrations/<int:integration_id>/", views.integration_schedule, name="integration_schedule"),
    path("integrations/<int:integration_id>/summary/", views.schedule_summary, name="schedule_summary"),
    path("integrations/<int:integration_id>/run/", views.run_now, name="run_now"),
]
