"""Template context: integrations that need re-authentication, shown as a banner on every page."""

from __future__ import annotations

from django.db import DatabaseError
from django.http import HttpRequest


def integrator_banner(request: HttpRequest) -> dict[str, object]:
    """Expose `reauth_integrations` (id, name, last error) to logged-in users."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from rmmbridge.integrations.models import Integration

    try:
        rows = list(
            Integration.objects.filter(status="needs_reauth", enabled=True).values("id", "name", "last_error")[:10]
        )
    except DatabaseError:  # migrations not applied yet
        return {}
    return {"reauth_integrations": rows}
