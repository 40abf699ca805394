"""update_rows: save changed fields of many rows by primary key with one executemany per batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Field, Model

BATCH = 1000


def update_rows(objects: Sequence[Model], fields: Sequence[str], *, batch_size: int = BATCH) -> int:
    """UPDATE the given fields of each object by primary key; returns the number of objects.

    Same effect as `QuerySet.bulk_update` (values as set on the objects, no signals, no auto_now), but linear:
    bulk_update builds one CASE WHEN per field over the whole batch, which SQLite evaluates for every row, so
    its cost grows with the square of the batch (about 40 s for 100,000 link rows against 1 s here).
    """
    if not objects:
        return 0
    model = type(objects[0])
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in dict.fromkeys(fields):
        found = meta.get_field(name)
        if not isinstance(found, Field) or not found.concrete or found.column is None:
            raise ValueError(f"{meta.label}.{name} is not a column; update_rows writes concrete fields only.")
        columns.append(found)
    key = meta.pk
    if key is None or key.column is None:
        raise ValueError(f"{meta.label} has no primary key column.")
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(key.column)} = %s"
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch_size):
            cursor.executemany(sql, [
                [*(f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns),
                 obj.pk]
                for obj in objects[start:start + batch_size]
            ])
    return len(objects)
