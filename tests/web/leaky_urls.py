"""A test URL configuration: the real one plus views that skip login, to prove the walker catches them."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


@login_not_required
def leaky_page(request: HttpRequest, pk: int) -> HttpResponse:
    """An HTML page someone forgot to protect."""
    return HttpResponse(f"<html><body>Customer {pk} secrets</body></html>")


@login_not_required
def machine_endpoint(request: HttpRequest, token: str) -> HttpResponse:
    """A machine endpoint with its own authentication (answers 401 without it)."""
    return JsonResponse({"error": "Unauthorized"}, status=401)


@login_not_required
def crashing_endpoint(request: HttpRequest) -> HttpResponse:
    """An exempt view with a bug: the walk reports it instead of stopping."""
    raise RuntimeError("boom")


urlpatterns = [
    path("crash/", crashing_endpoint),
    path("leaky/<int:pk>/", leaky_page, name="leaky"),
    path("machine/<slug:token>/", machine_endpoint, name="machine"),
    path("", include("rmmbridge.urls")),
]
