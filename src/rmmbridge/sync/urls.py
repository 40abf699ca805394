"""URL routes of rmmbridge.sync."""

from django.urls import path  # noqa: F401

app_name = "sync"
urlpatterns: list = []
