"""URL routes of rmmbridge.integrator."""

from django.urls import path  # noqa: F401

app_name = "integrator"
urlpatterns: list = []
