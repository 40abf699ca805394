"""Routes of the REST API (/api/v1/) and the API tokens page (/settings/api-tokens/, namespace apitokens)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, include, path

from rmmbridge.api import views
from rmmbridge.api.api import api
from rmmbridge.api.mail_intake import receive_mail


def _login_exempt(patterns: list[Any]) -> list[Any]:
    """API views authenticate themselves (token or session, 401 otherwise): exempt them from the login redirect.

    Ninja adds one pattern per operation name even when operations share a path (GET and POST /tickets/); only
    the first of those is ever resolved (it serves every method), so the unreachable copies are left out.
    """
    seen: set[str] = set()
    kept = []
    for entry in patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLPattern) and route in seen:
            continue
        seen.add(route)
        kept.append(entry)
    for entry in kept:
        if isinstance(entry, URLResolver):
            _login_exempt(entry.url_patterns)
        elif isinstance(entry, URLPattern):
            entry.callback.login_required = False  # type: ignore[attr-defined]
    return kept


api_patterns, api_app, api_namespace = api.urls
token_patterns = [
    path("", views.token_list, name="token_list"),
    path("<int:pk>/revoke/", views.token_revoke, name="token_revoke"),
]

urlpatterns = [
    path("api/v1/", include((_login_exempt(api_patterns), api_app), namespace=api_namespace)),
    path("settings/api-tokens/", include((token_patterns, "apitokens"))),
    path("intake/mail/", receive_mail, name="mail_intake"),  # `rmmbridge mailgate` posts here
]
