"""Login is required on every URL: walk the whole URL configuration and GET each view anonymously."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings
from django.urls import Resolver404, resolve
from tests.servicedesk.factories import AssetFactory, EndUserFactory

from .urlwalk import Endpoint, walk

pytestmark = pytest.mark.django_db

# Answers an anonymous GET may get from a view marked login_not_required (machine endpoints with their own
# authentication): refused, not found, wrong method, or a probe reporting it is down.
EXEMPT_REFUSALS = {401, 403, 404, 405, 503}


def is_login_redirect(location: str) -> bool:
    """A redirect to a login view (ours, or the admin's own) that brings the person back afterwards."""
    path, _, query = location.partition("?")
    try:
        name = resolve(path).view_name
    except Resolver404:
        return False
    return name in {"web:login", "admin:login"} and query.startswith("next=")


def check_anonymous(client: Client, endpoint: Endpoint) -> str:
    """'' when the endpoint is protected against an anonymous GET, else what is wrong."""
    if endpoint.path is None:
        return f"{endpoint.name}: {endpoint.problem}"
    try:
        response = client.get(endpoint.path)
    except Exception as exc:  # a view that crashes for an anonymous GET is reported, not fatal to the walk
        return f"{endpoint.name} ({endpoint.path}): anonymous GET raised {type(exc).__name__}: {exc}"
    status = response.status_code
    location = response.headers.get("Location", "")
    if status == 302 and is_login_redirect(location):
        return ""
    if not endpoint.login_exempt:
        return f"{endpoint.name} ({endpoint.path}): expected a redirect to a login page, got {status} {location}"
    content_type = response.headers.get("Content-Type", "")
    if status in EXEMPT_REFUSALS:
        return ""
    if status == 200 and 'type="password"' in response.content.decode(errors="replace"):
        return ""  # a login form
    if status == 200 and content_type.startswith("application/json"):
        return ""  # a health probe: JSON status for machines
    return (f"{endpoint.name} ({endpoint.path}) is login_not_required but answered an anonymous GET with "
            f"{status} {content_type}: give it its own authentication (401/403) or remove login_not_required")


def problems(client: Client, endpoints: list[Endpoint]) -> list[str]:
    return [problem for endpoint in endpoints if (problem := check_anonymous(client, endpoint))]


def test_every_url_needs_login(client: Client) -> None:
    asset = AssetFactory()
    EndUserFactory(site=asset.site)
    endpoints = walk(extra_values=[str(asset.pk)])
    names = {e.name for e in endpoints}
    # The walk really covers the configuration (it cannot pass by finding nothing).
    assert {"web:dashboard", "web:settings", "servicedesk:asset_list", "servicedesk:asset_detail",
            "servicedesk:customer_edit", "admin:index"} <= names
    assert len(endpoints) > 40
    assert problems(client, endpoints) == []
    exempt = sorted(e.name for e in endpoints if e.login_exempt)
    assert "web:login" in exempt
    assert "servicedesk:asset_list" not in exempt


def test_walker_catches_a_view_that_skips_login(client: Client) -> None:
    with override_settings(ROOT_URLCONF="tests.web.leaky_urls"):
        endpoints = walk("tests.web.leaky_urls")
        by_name = {e.name: e for e in endpoints}
        assert by_name["leaky"].path == "/leaky/1/"
        assert by_name["machine"].path == "/machine/1/"
        found = problems(client, endpoints)
    assert len(found) == 2
    assert found[0] == "<unnamed crash/> (/crash/): anonymous GET raised RuntimeError: boom"
    assert found[1].startswith("leaky (/leaky/1/) is login_not_required but answered an anonymous GET with 200")


def test_paths_are_built_for_parameters_and_nested_namespaces() -> None:
    endpoints = {e.name: e for e in walk(extra_values=["42"])}
    assert endpoints["servicedesk:asset_detail"].path == "/assets/42/"
    assert endpoints["admin:app_list"].path is not None
    assert endpoints["admin:app_list"].path.startswith("/admin/")


def test_logged_in_pages_of_the_shell_render(admin_client: Client) -> None:
    """Every GET page of the web shell and service desk answers a logged-in person (no server error)."""
    asset = AssetFactory()
    user = EndUserFactory(site=asset.site)
    ids = {"asset": asset.pk, "customer": asset.customer_id, "site": asset.site_id, "user": user.pk}
    for endpoint in walk(extra_values=[str(asset.pk)]):
        if not endpoint.name.startswith(("servicedesk:", "web:")) or endpoint.path is None:
            continue
        path = endpoint.path
        for kind, pk in ids.items():
            if f"{kind}_" in endpoint.name or endpoint.name.endswith(f"{kind}_make_main"):
                path = endpoint.path.replace(f"/{asset.pk}/", f"/{pk}/")
        response = admin_client.get(path)
        assert response.status_code in {200, 302, 405}, (endpoint.name, path, response.status_code)
