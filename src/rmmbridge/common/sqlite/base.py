"""Django's SQLite backend with each SQL text's conversion from %s to ? placeholders remembered.

Django rewrites every statement's placeholders with a regular expression before SQLite sees it; the hot paths
(alert intake, the sync's writes) run the same few SQL texts thousands of times, and the rewrite was ~6 % of an
alert's processing. Everything else is Django's backend unchanged (`ENGINE = "rmmbridge.common.sqlite"`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db.backends.sqlite3 import base

#: Distinct SQL texts remembered (the ORM's texts carry parameters, not values, so they repeat).
REMEMBERED_TEXTS = 4096


@lru_cache(maxsize=REMEMBERED_TEXTS)
def _qmark(query: str) -> str:
    return base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    """Django's cursor; a "format"-style query's conversion is looked up before it is computed."""

    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None:
            return _qmark(query)
        return str(super().convert_query(query, param_names=param_names))


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's SQLite connection, with the cursor above."""

    def create_cursor(self, name: Any = None) -> Any:
        return self.connection.cursor(factory=SQLiteCursorWrapper)
