"""Hot-path querysets compiled to SQL once per database connection and run again with new parameters.

Compiling a queryset (filters, joins, select_related, ordering) costs far more than SQLite takes to run it:
for the alert pipeline's few fixed lookups it was a third of the time per alert. A `PreparedQuery` builds
its queryset once with marker values, keeps the SQL Django wrote and where each marker went, and afterwards
only executes that SQL and turns the rows into model instances with Django's own converters and
select_related populators, so the instances are those the queryset would give.

Only plain values may be parameters (str or int: ids, keys, names); the rest of the query is fixed when it
is built. A queryset whose SQL does not carry each marker as a parameter is refused when first compiled.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections
from django.db.models import Model, QuerySet, signals
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

from rmmbridge.common.field_values import Getter, value_getter
from rmmbridge.common.kept_cursor import execute_count, fetch_all, fetch_one

M = TypeVar("M", bound=Model)

#: Marker values: unlikely to be equal to a real parameter, and kept as they are by Django's value preparation.
_STR_MARKER = "\x00rmmbridge-prepared-{}\x00"
_INT_MARKER = -7_305_000_000_000


def _marker(kind: type, index: int) -> Any:
    if kind is str:
        return _STR_MARKER.format(index)
    if kind is int:
        return _INT_MARKER - index
    raise TypeError(f"A prepared query's parameters are str or int, not {kind.__name__}.")


@dataclass
class _Compiled:
    sql: str
    params: list[Any]
    #: (position in `params`, index of the caller's argument)
    slots: list[tuple[int, int]]
    compiler: Any
    #: Django's (converters, expression) per converted column, worked out once (results_iter does it per call)
    converters: dict[int, Any]
    model_start: int
    model_end: int
    init_list: list[str]
    populators: list[Any]
    locks: bool


class PreparedQuery(Generic[M]):
    """`build(*args)` returns the queryset; `kinds` are the argument types (str or int), in order."""

    def __init__(self, build: Callable[..., QuerySet[M]], *kinds: type, using: str = "default") -> None:
        self._build = build
        self._kinds = kinds
        self._using = using
        self._by_connection: weakref.WeakKeyDictionary[Any, _Compiled] = weakref.WeakKeyDictionary()

    def _compile(self, connection: Any) -> _Compiled:
        markers = [_marker(kind, i) for i, kind in enumerate(self._kinds)]
        queryset = self._build(*markers)
        compiler = queryset.query.get_compiler(using=self._using)
        sql, params = compiler.as_sql()
        where = {marker: i for i, marker in enumerate(markers)}
        slots = [(pos, where[value]) for pos, value in enumerate(params)
                 if isinstance(value, (str, int)) and not isinstance(value, bool) and value in where]
        missing = set(range(len(markers))) - {index for _pos, index in slots}
        if missing:
            raise ValueError(f"Argument(s) {sorted(missing)} of the prepared query are not SQL parameters: {sql}")
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        return _Compiled(
            sql=sql, params=list(params), slots=slots, compiler=compiler, converters=_converters(compiler),
            model_start=start, model_end=end,
            init_list=[column[0].target.attname for column in compiler.select[start:end]],
            # Django 5.2 takes three arguments (the stubs follow a later release)
            populators=get_related_populators(klass_info, compiler.select, self._using),  # type: ignore[call-arg]
            locks=bool(queryset.query.select_for_update),
        )

    def all(self, *args: Any) -> list[M]:
        """The instances the queryset built from `args` would give, in its order."""
        if len(args) != len(self._kinds):
            raise TypeError(f"The prepared query takes {len(self._kinds)} argument(s), not {len(args)}.")
        connection = connections[self._using]
        compiled = self._by_connection.get(connection)
        if compiled is None:
            compiled = self._by_connection[connection] = self._compile(connection)
        if compiled.locks and not connection.in_atomic_block:
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = list(compiled.params)
        for pos, index in compiled.slots:
            params[pos] = args[index]
        rows = fetch_all(connection, compiled.sql, params)
        if not rows:
            return []
        model = compiled.compiler.klass_info["model"]
        found: list[M] = []
        for row in _converted(compiled.compiler, compiled.converters, rows):
            obj = model.from_db(self._using, compiled.init_list, row[compiled.model_start:compiled.model_end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def first(self, *args: Any) -> M | None:
        """The first instance, or None (build the queryset with its ordering and `[:1]`)."""
        found = self.all(*args)
        return found[0] if found else None


def _converters(compiler: Any) -> dict[int, Any]:
    return dict(compiler.get_converters([column[0] for column in compiler.select[0:compiler.col_count]]))


def _converted(compiler: Any, converters: dict[int, Any], rows: list[Any]) -> Any:
    """The rows with Django's converters applied (JSON decoded, datetimes made aware, …) as `results_iter` does."""
    return compiler.apply_converters(rows, converters) if converters else rows


@dataclass
class _RawCompiled:
    sql: str
    compiler: Any
    converters: dict[int, Any]
    init_list: list[str]


_raw_compiled: weakref.WeakKeyDictionary[Any, dict[tuple[type[Model], str], _RawCompiled]] = (
    weakref.WeakKeyDictionary())


def model_rows(model: type[M], sql: str, params: list[Any], *, alias: str = "a",
               using: str = "default") -> list[M]:
    """Instances of `model` from raw SQL whose select list is `{columns}` (the model's columns, in order, of the
    table aliased `alias`), converted as the ORM converts them; the cheaper twin of `Model.objects.raw`."""
    connection = connections[using]
    per_connection = _raw_compiled.setdefault(connection, {})
    compiled = per_connection.get((model, sql))
    if compiled is None:
        fields = model._meta.concrete_fields
        columns = ", ".join(f"{alias}.{connection.ops.quote_name(_column(field))}" for field in fields)
        compiler = model._default_manager.all().query.get_compiler(using=using)
        compiler.setup_query()
        compiled = per_connection[(model, sql)] = _RawCompiled(
            sql.format(columns=columns), compiler, _converters(compiler), [field.attname for field in fields])
    rows = fetch_all(connection, compiled.sql, params)
    return [model.from_db(using, compiled.init_list, row)
            for row in _converted(compiled.compiler, compiled.converters, rows)]


def _column(field: Any) -> str:
    column = field.column
    if not isinstance(column, str):
        raise TypeError(f"{field!r} has no column of its own.")
    return column


def _plain(model: type[Model]) -> bool:
    """No own `save` and no save signal receivers: a prepared write may stand in for `save()`."""
    return model.save is Model.save and not (signals.pre_save.has_listeners(model)
                                             or signals.post_save.has_listeners(model))


_update_sql: weakref.WeakKeyDictionary[Any, dict[tuple[type[Model], tuple[str, ...]], tuple[str, list[Getter]]]] = (
    weakref.WeakKeyDictionary())


def save_fields(obj: Model, fields: list[str], *, using: str = "default") -> None:
    """`obj.save(update_fields=fields)` as one prepared UPDATE (the same values: `pre_save`, then the database
    preparation of each field); raises as `save` does when no row has the instance's primary key."""
    model = type(obj)
    if not _plain(model):
        obj.save(update_fields=fields, using=using)
        return
    connection = connections[using]
    per_connection = _update_sql.setdefault(connection, {})
    key = (model, tuple(fields))
    entry = per_connection.get(key)
    if entry is None:
        meta = model._meta
        targets: list[Any] = [meta.get_field(name) for name in fields]
        quote = connection.ops.quote_name
        sql = (f"UPDATE {quote(meta.db_table)} SET "
               + ", ".join(f"{quote(_column(field))} = %s" for field in targets)
               + f" WHERE {quote(_column(meta.pk))} = %s")
        entry = per_connection[key] = (sql, [value_getter(field, connection, False) for field in targets])
    sql, getters = entry
    values = [get(obj) for get in getters]
    if execute_count(connection, sql, [*values, obj.pk]) == 0:
        raise DatabaseError("Save with update_fields did not affect any rows.")


_insert_sql: weakref.WeakKeyDictionary[Any, dict[type[Model], tuple[str, list[Getter]] | None]] = (
    weakref.WeakKeyDictionary())


def save_row(obj: Model, *, using: str = "default") -> None:
    """`obj.save()` as one prepared INSERT … RETURNING (new instance) or UPDATE of every column (stored one)."""
    model = type(obj)
    meta = model._meta
    if not obj._state.adding and obj.pk is not None:
        save_fields(obj, [field.name for field in meta.concrete_fields if not field.primary_key], using=using)
        return
    connection = connections[using]
    per_connection = _insert_sql.setdefault(connection, {})
    if model not in per_connection:
        per_connection[model] = None
        if _plain(model) and connection.features.can_return_columns_from_insert and meta.pk is not None \
                and getattr(meta.pk, "db_returning", False):
            targets: list[Any] = [field for field in meta.concrete_fields if not field.primary_key]
            quote = connection.ops.quote_name
            per_connection[model] = (
                f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(_column(field)) for field in targets)}) "
                f"VALUES ({', '.join(['%s'] * len(targets))}) RETURNING {quote(_column(meta.pk))}",
                [value_getter(field, connection, True) for field in targets])
    entry = per_connection[model]
    if entry is None or obj.pk is not None:
        obj.save(using=using)
        return
    sql, getters = entry
    values = [get(obj) for get in getters]
    if any(hasattr(value, "resolve_expression") for value in values):  # a database default: the ORM writes it
        obj.save(using=using)
        return
    row = fetch_one(connection, sql, values)
    if row is None:
        raise DatabaseError(f"INSERT … RETURNING into {meta.db_table} gave back no row.")
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = using
