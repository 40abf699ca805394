"""Hot-path SQL on one Django cursor kept per open database connection instead of a new cursor per statement.

`connection.cursor()` builds a database cursor and Django's wrapper around it each time (connection check,
thread check, wrapper choice); for the alert path's ten short statements an alert that was a tenth of their
cost. The kept cursor is still Django's own `CursorWrapper`, so every statement keeps what matters: execute
wrappers, database errors raised as Django's, the broken-transaction check. It is dropped when the connection
is closed or replaced, and not used at all while queries are logged (the debug wrapper then records them)
or while the connection is shared between threads (two threads must never share one cursor).
"""

from __future__ import annotations

import weakref
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.connection import ConnectionProxy

_kept: weakref.WeakKeyDictionary[Any, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _kept_cursor(connection: Any) -> Any | None:
    if isinstance(connection, ConnectionProxy):  # `django.db.connection`: the current thread's default one
        connection = connections[DEFAULT_DB_ALIAS]
    raw = connection.connection
    if raw is None or connection.queries_logged or connection.allow_thread_sharing:
        return None
    kept = _kept.get(connection)
    if kept is not None and kept[0] is raw:
        return kept[1]
    cursor = connection.cursor()
    _kept[connection] = (raw, cursor)
    return cursor


def fetch_all(connection: Any, sql: str, params: list[Any]) -> list[Any]:
    """The rows of `sql` with `params`."""
    cursor = _kept_cursor(connection)
    if cursor is None:
        with connection.cursor() as fresh:
            fresh.execute(sql, params)
            return list(fresh.fetchall())
    cursor.execute(sql, params)
    return list(cursor.fetchall())


def fetch_one(connection: Any, sql: str, params: list[Any]) -> Any | None:
    """The first row of `sql` with `params`, or None."""
    cursor = _kept_cursor(connection)
    if cursor is None:
        with connection.cursor() as fresh:
            fresh.execute(sql, params)
            return fresh.fetchone()
    cursor.execute(sql, params)
    row = cursor.fetchone()
    if row is not None:
        cursor.fetchall()  # nothing of this statement may be left for the next one to trip over
    return row


def execute_count(connection: Any, sql: str, params: list[Any]) -> int:
    """Run a write; the number of rows it changed."""
    cursor = _kept_cursor(connection)
    if cursor is None:
        with connection.cursor() as fresh:
            fresh.execute(sql, params)
            return int(fresh.rowcount)
    cursor.execute(sql, params)
    return int(cursor.rowcount)
