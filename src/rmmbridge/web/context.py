"""Template context: the navigation bar, built from whichever section URLs exist."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

NAVIGATION = (
    ("Customers", "servicedesk:customer_list"),
    ("Sites", "servicedesk:site_list"),
    ("Users", "servicedesk:user_list"),
    ("Assets", "servicedesk:asset_list"),
    ("Tickets", "tickets:ticket_list"),
    ("Alerts", "alerts:event_list"),
    ("Integrations", "integrations:integration_list"),
    ("Imports", "sync:imports"),
    ("Operations", "integrator:overview"),
    ("Settings", "web:settings"),
)


def navigation(request: HttpRequest) -> dict[str, object]:
    """Expose `nav` as (label, url, active) triples for the sections that are installed."""
    items = []
    for label, name in NAVIGATION:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        items.append((label, url, request.path.startswith(url) and url != "/"))
    return {"nav": items}
