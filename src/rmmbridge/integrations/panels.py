"""Setup panels other apps add to an integration's setup page: (title, URL name taking the integration id)."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse

#: Appended to by other apps in AppConfig.ready(), e.g. SETUP_PANELS.append(("Sync", "sync:integration_setup")).
SETUP_PANELS: list[tuple[str, str]] = []


def panel_links(integration_id: int) -> list[tuple[str, str]]:
    """(title, url) of each registered panel whose URL resolves; panels of apps not installed are left out."""
    links: list[tuple[str, str]] = []
    seen: set[str] = set()
    for title, url_name in SETUP_PANELS:
        if url_name in seen:
            continue
        seen.add(url_name)
        try:
            links.append((title, reverse(url_name, args=[integration_id])))
        except NoReverseMatch:
            continue
    return links
