"""URL routes of the service-desk core pages."""

from django.urls import path  # noqa: F401

app_name = "servicedesk"
urlpatterns: list = []
