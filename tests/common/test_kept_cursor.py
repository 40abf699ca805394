"""The kept cursor: one per open connection, replaced with the connection, out of the way of logging and sharing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from rmmbridge.common import kept_cursor
from rmmbridge.common.kept_cursor import execute_count, fetch_all, fetch_one
from rmmbridge.servicedesk.models import AssetGroup

pytestmark = pytest.mark.django_db

TABLE = AssetGroup._meta.db_table


def _kept() -> Any:
    entry = kept_cursor._kept.get(connections["default"])
    return entry[1] if entry is not None else None


def test_statements_share_one_cursor_and_read_what_they_wrote() -> None:
    default = connections["default"]
    assert execute_count(default, f"INSERT INTO {TABLE} (name) VALUES (%s)", ["Servers"]) == 1
    first = _kept()
    assert first is not None
    assert fetch_one(default, f"SELECT name FROM {TABLE} WHERE name = %s", ["Servers"]) == ("Servers",)
    assert fetch_all(connection, f"SELECT name FROM {TABLE} WHERE name = %s", ["Servers"]) == [("Servers",)]
    assert fetch_one(default, f"SELECT name FROM {TABLE} WHERE name = %s", ["nothing"]) is None
    assert _kept() is first  # the proxy `django.db.connection` resolves to the same connection
    assert AssetGroup.objects.filter(name="Servers").count() == 1  # the ORM sees the row


def test_a_first_row_leaves_nothing_open_behind_it() -> None:
    default = connections["default"]
    for name in ("A", "B", "C"):
        execute_count(default, f"INSERT INTO {TABLE} (name) VALUES (%s)", [name])
    with transaction.atomic():
        assert fetch_one(default, f"SELECT name FROM {TABLE} ORDER BY name", []) == ("A",)
        execute_count(default, f"UPDATE {TABLE} SET name = %s WHERE name = %s", ["D", "C"])
    assert sorted(AssetGroup.objects.values_list("name", flat=True)) == ["A", "B", "D"]


def test_errors_come_as_djangos_and_the_cursor_goes_on() -> None:
    default = connections["default"]
    execute_count(default, f"INSERT INTO {TABLE} (name) VALUES (%s)", ["Twice"])
    with pytest.raises(IntegrityError), transaction.atomic():
        execute_count(default, f"INSERT INTO {TABLE} (id, name) SELECT id, name FROM {TABLE}", [])
    assert fetch_one(default, f"SELECT COUNT(*) FROM {TABLE}", []) == (1,)


def test_logged_queries_and_execute_wrappers_see_every_statement() -> None:
    default = connections["default"]
    fetch_one(default, "SELECT 1", [])  # a cursor is kept from here on
    seen: list[str] = []

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with default.execute_wrapper(wrapper):
        fetch_one(default, "SELECT 2", [])
    assert seen == ["SELECT 2"]
    with CaptureQueriesContext(default) as captured:
        fetch_all(default, "SELECT 3", [])
    assert [q["sql"] for q in captured.captured_queries] == ["SELECT 3"]


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_gets_a_new_cursor() -> None:
    default = connections["default"]
    fetch_one(default, "SELECT 1", [])
    before = _kept()
    assert before is not None
    default.close()
    assert fetch_one(default, "SELECT 1", []) == (1,)  # opens the connection (on a cursor of its own)
    assert fetch_one(default, "SELECT 2", []) == (2,)
    assert _kept() is not None
    assert _kept() is not before


def test_a_connection_shared_between_threads_gets_a_cursor_per_statement() -> None:
    default = connections["default"]
    fetch_one(default, "SELECT 1", [])
    kept = _kept()
    default.inc_thread_sharing()
    try:
        assert kept_cursor._kept_cursor(default) is None
        results: list[Any] = []
        worker = threading.Thread(target=lambda: results.append(fetch_one(default, "SELECT 5", [])))
        worker.start()
        worker.join()
        assert results == [(5,)]
    finally:
        default.dec_thread_sharing()
    assert kept_cursor._kept_cursor(default) is kept
