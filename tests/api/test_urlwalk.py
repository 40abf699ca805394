"""Every API endpoint refuses an anonymous caller with a 401 problem (or 405 for a write-only path)."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.web.urlwalk import walk

pytestmark = pytest.mark.django_db


def test_every_api_endpoint_needs_a_token_or_a_session(client: Client) -> None:
    endpoints = [e for e in walk(extra_values=["1"]) if e.name.startswith("api-v1:")]
    assert len(endpoints) >= 20
    answers = {}
    for endpoint in endpoints:
        assert endpoint.path is not None, endpoint.problem
        assert endpoint.login_exempt, endpoint.name  # the API answers 401 itself instead of redirecting to login
        response = client.get(endpoint.path)
        answers[endpoint.name] = response.status_code
        if endpoint.name == "api-v1:openapi-view":
            assert response.status_code == 302
            continue
        if endpoint.name == "api-v1:api-root":  # Ninja's marker view for reverse(): 404 for everyone, no data
            assert response.status_code == 404
            continue
        if response.status_code == 405:  # POST-only path: an anonymous POST is refused too
            response = client.post(endpoint.path, {}, content_type="application/json")
        assert response.status_code == 401, (endpoint.name, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
    assert answers["api-v1:list_assets"] == 401
