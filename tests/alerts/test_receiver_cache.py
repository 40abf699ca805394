"""The receiver's cache of noise options and maintenance windows: read once, and a save shows at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rmmbridge.alerts.cache import enabled_windows, noise_policy, use_cache
from rmmbridge.alerts.noise_models import MaintenanceWindow, NoiseSettings
from rmmbridge.common.clock import utcnow

from .conftest import Desk

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver_cache() -> Iterator[None]:
    use_cache(True)
    yield
    use_cache(False)


def test_noise_policy_is_read_once_and_a_saved_setting_applies_at_once(desk: Desk, receiver_cache: None) -> None:
    row = NoiseSettings.objects.create(integration=desk.integration, storm_count=7)
    assert noise_policy(desk.integration).storm_count == 7
    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert noise_policy(desk.integration).storm_count == 7
    assert len(queries) == 0
    row.storm_count = 12
    row.save()
    assert noise_policy(desk.integration).storm_count == 12
    row.delete()
    assert noise_policy(desk.integration).storm_count == NoiseSettings().storm_count


def test_without_the_receiver_cache_every_call_reads(desk: Desk) -> None:
    NoiseSettings.objects.create(integration=desk.integration, storm_count=7)
    with CaptureQueriesContext(connection) as queries:
        noise_policy(desk.integration)
        noise_policy(desk.integration)
    assert len(queries) >= 2


def test_maintenance_windows_are_read_once_and_a_saved_window_applies_at_once(desk: Desk,
                                                                              receiver_cache: None) -> None:
    assert enabled_windows() == []
    now = utcnow()
    window = MaintenanceWindow.objects.create(name="Patch night", scope="customer", customer=desk.customer,
                                              starts=now - timedelta(hours=1), ends=now + timedelta(hours=1))
    assert [w.pk for w in enabled_windows()] == [window.pk]
    with CaptureQueriesContext(connection) as queries:
        enabled_windows()
    assert len(queries) == 0
    window.enabled = False
    window.save()
    assert enabled_windows() == []
