"""update_rows / insert_rows: many rows by primary key, or plain tuples, with one executemany per batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], *,
                batch_size: int = BATCH) -> int:
    """INSERT plain tuples (values in `fields` order, by attname: `actor_id`) with one executemany per batch.

    For the write layer's hot paths that need no ids back (audit entries, external refs): no model instances, values
    prepared only for columns that need it (JSON, dates). No signals, no auto_now: pass those values yourself.
    Returns the number of rows.
    """
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    columns: list[Field[Any, Any]] = []
    for name in fields:
        found = next((f for f in meta.concrete_fields if f.attname == name), None)
        if found is None or found.column is None:
            raise ValueError(f"{meta.label}.{name} is not a column; insert_rows writes concrete fields only.")
        columns.append(found)
    prepared = [f if f.get_internal_type() in _PREPARED else None for f in columns]
    quote = connection.ops.quote_name
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    total = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append([v if f is None else f.get_db_prep_save(v, connection) for f, v in zip(prepared, row,
                                                                                                strict=True)])
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            total += len(batch)
    return total


#: Column types whose Python values the database driver cannot take as they are.
_PREPARED = frozenset({"JSONField", "DateTimeField", "DateField", "DecimalField", "UUIDField"})
