"""Routes of the sync jobs a person starts from the sync pages (mounted under /sync/, namespace syncjobs)."""

from __future__ import annotations

from django.urls import path

from rmmbridge.integrator import sync_jobs

app_name = "syncjobs"
urlpatterns = [
    path("integrations/<int:pk>/run/", sync_jobs.start_run, name="start_run"),
    path("runs/<int:run_id>/apply/", sync_jobs.run_apply, name="run_apply"),
    path("jobs/<int:job_id>/", sync_jobs.job_progress, name="job_progress"),
]
