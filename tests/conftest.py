"""Shared test fixtures: service availability (mandatory under CI=true), a logged-in browser, an admin."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from typing import Any

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM = os.environ.get("RMMBRIDGE_CHROMIUM", "/usr/bin/chromium")


def require_service(available: bool, what: str) -> None:
    """Skip with a reason when a service is missing; under CI=true fail instead."""
    if available:
        return
    if CI:
        pytest.fail(f"{what} is required under CI=true but is not available")
    pytest.skip(f"{what} is not available (mandatory only under CI=true)")


def port_open(host: str, port: int) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def admin_user(db: Any) -> Any:
    """A superuser 'admin' with password 'admin-pass-123'."""
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_superuser("admin", "admin@example.com", "admin-pass-123")


@pytest.fixture
def admin_client(client: Any, admin_user: Any) -> Any:
    """A Django test client logged in as the admin."""
    client.force_login(admin_user)
    return client


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (mandatory under CI=true)."""
    require_service(shutil.which(CHROMIUM) is not None or os.path.exists(CHROMIUM), f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: Any, admin_user: Any) -> Iterator[Any]:
    """A browser page logged in as the admin on the live server."""
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto("/login/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "admin-pass-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    yield page
    context.close()


DB_FIXTURES = frozenset({"db", "transactional_db", "django_db_setup", "_django_db_helper", "live_server"})


def uses_database(item: pytest.Item) -> bool:
    """True when a test touches Django's database (django_db marker or a database fixture in its closure).

    A test marked only `postgres` (the distributed tests) brings its own PostgreSQL database whatever DATABASE_URL
    says, so it ran already in the first run and is not repeated.
    """
    if item.get_closest_marker("django_db"):
        return True
    return bool(DB_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With RMMBRIDGE_DB_TESTS_ONLY=1 (the PostgreSQL re-run) keep only the tests that touch the database."""
    if os.environ.get("RMMBRIDGE_DB_TESTS_ONLY", "").lower() not in {"1", "true", "yes"}:
        return
    keep = [item for item in items if uses_database(item)]
    dropped = [item for item in items if not uses_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
