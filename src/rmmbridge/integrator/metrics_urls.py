"""The /metrics route (Prometheus), mounted at the site root."""

from django.urls import path

from rmmbridge.integrator import views

urlpatterns = [path("", views.metrics_view, name="metrics")]
