"""In a real browser: the API docs page renders from this server alone (no CDN) and its session calls work."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_docs_page_renders_from_this_server_only(page: Any, live_server: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto("/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=20000)
    assert page.locator(".swagger-ui .opblock").count() >= 20
    assert requested
    foreign = [url for url in requested if not url.startswith(live_server.url) and not url.startswith("data:")]
    assert foreign == []
    assert any(url.endswith("/api/v1/openapi.json") for url in requested)
