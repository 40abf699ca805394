"""update_rows / insert_rows / insert_rows_returning: many rows by primary key, or plain tuples, in bulk."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model

from rmmbridge.common import fastjson

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


def _columns(model: type[Model], fields: Sequence[str]) -> list[Field[Any, Any]]:
    meta = model._meta
    columns: list[Field[Any, Any]] = []
    for name in fields:
        found = next((f for f in meta.concrete_fields if f.attname == name), None)
        if found is None or found.column is None:
            raise ValueError(f"{meta.label}.{name} is not a column; insert_rows writes concrete fields only.")
        columns.append(found)
    return columns


class EncodedJSON:
    """A JSON column's value with its text already encoded (`EncodedJSON.of`): many rows sharing one value (an
    asset's provenance) encode it once. insert_rows / insert_rows_returning write its text (SQLite) or its value."""

    __slots__ = ("text", "value")

    def __init__(self, value: Any, text: str) -> None:
        self.value, self.text = value, text

    @classmethod
    def of(cls, value: Any) -> EncodedJSON:
        return cls(value, _ENCODE(value))


#: The JSON text of a column's value (orjson: the same values as Django's json.dumps, in compact form).
_ENCODE = fastjson.dumps


def _converter(column: Field[Any, Any], connection: BaseDatabaseWrapper) -> Callable[[Any], Any] | None:
    """How one column's Python values become the driver's (None: as they are); on PostgreSQL, for COPY."""
    kind = column.get_internal_type()
    if kind not in _PREPARED:
        return None
    if kind == "JSONField" and getattr(column, "encoder", None) is None and connection.vendor in ("sqlite",
                                                                                                "postgresql"):
        return _json_text  # what Django's JSON adaptation does, without its layers (COPY's text is JSON's text)
    if kind == "JSONField":
        return lambda value: column.get_db_prep_save(value.value if type(value) is EncodedJSON else value,
                                                     connection)
    last: list[Any] = [_NOTHING, None]

    def once(value: Any) -> Any:  # a batch's one timestamp is prepared once
        if value is not last[0]:
            last[0], last[1] = value, column.get_db_prep_save(value, connection)
        return last[1]

    return once


def _json_text(value: Any) -> str:
    """A JSON column value's text: an EncodedJSON's own, else encoded now."""
    return value.text if type(value) is EncodedJSON else _ENCODE(value)


@contextmanager
def _pg_cursor(connection: BaseDatabaseWrapper) -> Iterator[Any]:
    """A psycopg cursor that binds values on the server (Django's own quotes each value in Python: most of a bulk
    insert's time on PostgreSQL), without prepared statements (a pooler such as PgBouncer may not keep them)."""
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    threshold = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        with psycopg.Cursor(raw) as cursor, connection.wrap_database_errors:
            yield cursor
    finally:
        raw.prepare_threshold = threshold


def _preparer(columns: Sequence[Field[Any, Any]], connection: BaseDatabaseWrapper) -> Callable[[Sequence[Any]],
                                                                                                list[Any]]:
    """A function turning one row of Python values into the driver's values (JSON, dates; others as they are)."""
    converters = [_converter(f, connection) for f in columns]

    def prepare(row: Sequence[Any]) -> list[Any]:
        if len(row) != len(converters):
            raise ValueError(f"A row has {len(row)} values for {len(converters)} columns.")
        return [value if convert is None or value is None else convert(value)
                for convert, value in zip(converters, row)]  # noqa: B905 (checked above, without its cost)

    return prepare


def insert_rows(model: type[Model], fields: Sequence[str], rows: Iterable[Sequence[Any]], *,
                batch_size: int = BATCH) -> int:
    """INSERT plain tuples (values in `fields` order, by attname: `actor_id`): one executemany per batch on
    SQLite, one COPY on PostgreSQL.

    For the write layer's hot paths that need no ids back (audit entries, external refs): no model instances, values
    prepared only for columns that need it (JSON, dates). No signals, no auto_now: pass those values yourself.
    Returns the number of rows.
    """
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    columns = _columns(model, fields)
    prepare = _preparer(columns, connection)
    quote = connection.ops.quote_name
    target = f"{quote(meta.db_table)} ({', '.join(quote(str(f.column)) for f in columns)})"
    if connection.vendor == "postgresql":
        with _pg_cursor(connection) as cursor:
            return _copy(cursor, target, map(prepare, rows))
    sql = f"INSERT INTO {target} VALUES ({', '.join(['%s'] * len(columns))})"
    total = 0
    batch: list[list[Any]] = []
    with connection.cursor() as cursor:
        for row in rows:
            batch.append(prepare(row))
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                total += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            total += len(batch)
    return total


def _copy(cursor: Any, target: str, rows: Iterable[Sequence[Any]]) -> int:
    """COPY rows into `table (columns)` (PostgreSQL's bulk load: one statement for every row, parsed once, against
    an INSERT parsed and planned per row); returns the number of rows. Values as psycopg adapts them in COPY's
    text format (JSON columns as their text)."""
    total = 0
    with cursor.copy(f"COPY {target} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            total += 1
    return total


#: SQLite answers INSERT … RETURNING from 3.35 on; before that, insert_rows_returning recovers the ids itself.
SQLITE_RETURNING = (3, 35, 0)


def insert_rows_returning(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *,
                          batch_size: int = BATCH, returning: bool | None = None) -> list[int]:
    """INSERT plain tuples like insert_rows and return the new primary keys, in the rows' order.

    PostgreSQL: the ids are reserved from the table's sequence in one query, then every row goes in with them in
    one COPY. SQLite ≥ 3.35: one
    multi-row `INSERT … RETURNING id` per batch (as many rows as its variable limit allows). Older SQLite (or
    `returning=False`): the first row alone gives its id, the others follow with an `executemany`, and the ids
    are read back and checked to be the consecutive ones SQLite gives inside one write transaction (the table's
    key is AUTOINCREMENT and the write lock is held), else the batch fails rather than guess. Must run inside a
    transaction (`transaction.atomic`).
    """
    if not rows:
        return []
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    if not connection.in_atomic_block:
        raise RuntimeError("insert_rows_returning must run inside transaction.atomic(): the ids are read back.")
    key = meta.pk
    if key is None or key.column is None:
        raise ValueError(f"{meta.label} has no primary key column.")
    columns = _columns(model, fields)
    prepare = _preparer(columns, connection)
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(key.column)
    head = f"INSERT INTO {table} ({', '.join(quote(str(f.column)) for f in columns)}) VALUES "
    one = f"({', '.join(['%s'] * len(columns))})"
    ids: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # through Django's cursor, so execute wrappers see the table about to be written (tests/sync/test_race)
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) AS id FROM generate_series(1, %s) "
                           "ORDER BY id", [table, key.column, len(rows)])
            ids = [int(found[0]) for found in cursor.fetchall()]  # reserved: no other session gets these
            with _pg_cursor(connection) as raw:
                _copy(raw, f"{table} ({pk}, {', '.join(quote(str(f.column)) for f in columns)})",
                      ([pk_value, *prepare(row)] for pk_value, row in zip(ids, rows, strict=True)))
            return ids
        if connection.vendor != "sqlite":
            raise ImproperlyConfigured(f"rmmbridge runs on PostgreSQL or SQLite, not {connection.vendor}: set "
                                       "DATABASE_URL to a postgres:// URL, or leave it unset for SQLite.")
        import sqlite3

        if returning is None:
            returning = sqlite3.sqlite_version_info >= SQLITE_RETURNING
        if returning:
            per = max(1, min(batch_size, _SQLITE_VARIABLES // len(columns)))
            marks = f"({', '.join(['?'] * len(columns))})"  # sqlite3's own style: Django's %s → ? rewrite of a
            raw = cursor.cursor                                # statement of 30,000 variables is a regex over it
            start = 0
            for size in statement_sizes(len(rows), per):
                chunk, start = rows[start:start + size], start + size
                with connection.wrap_database_errors:
                    raw.execute(f"{head}{', '.join([marks] * len(chunk))} RETURNING {pk}",
                                [value for row in chunk for value in prepare(row)])
                    # SQLite numbers the rows of one INSERT in the order of its VALUES; RETURNING's own order is
                    # not promised, so sort
                    ids.extend(sorted(int(found[0]) for found in raw.fetchall()))
            return ids
        for start in range(0, len(rows), batch_size):
            chunk = rows[start:start + batch_size]
            cursor.execute(f"{head}{one}", prepare(chunk[0]))
            first = int(cursor.lastrowid)
            if len(chunk) > 1:
                cursor.executemany(f"{head}{one}", [prepare(r) for r in chunk[1:]])
            cursor.execute(f"SELECT COUNT(*), MAX({pk}) FROM {table} WHERE {pk} >= %s", [first])
            count, last = cursor.fetchone()
            if (count, last) != (len(chunk), first + len(chunk) - 1):
                raise RuntimeError(f"{meta.label}: the new rows' ids are not consecutive ({count} rows from "
                                   f"#{first} to #{last}, {len(chunk)} inserted); nothing of this batch is kept.")
            ids.extend(range(first, first + len(chunk)))
    return ids


def statement_sizes(count: int, per: int) -> list[int]:
    """Rows per multi-row INSERT for `count` rows: `per` at a time, the rest in powers of two (largest first).

    sqlite3 keeps every statement it prepared (128 per connection) and a multi-row INSERT of 1,000 rows is a
    ~1.8 MB program: a remainder of any length would be a new statement each call, and a 100k-device first sync
    held 17.7 MB of them (5.7 MB at 10k). With these sizes a table has at most a dozen, each prepared once.
    """
    sizes = [per] * (count // per)
    rest, power = count % per, 1 << max(per.bit_length() - 1, 0)
    while rest:
        if power <= rest:
            sizes.append(power)
            rest -= power
        power >>= 1
    return sizes


_NOTHING = object()
#: SQLite's default limit of bound variables per statement (SQLITE_MAX_VARIABLE_NUMBER) since 3.32.
_SQLITE_VARIABLES = 32766
#: Column types whose Python values the database driver cannot take as they are.
_PREPARED = frozenset({"JSONField", "DateTimeField", "DateField", "DecimalField", "UUIDField"})
