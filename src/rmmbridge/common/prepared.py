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

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

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
            sql=sql, params=list(params), slots=slots, compiler=compiler, model_start=start, model_end=end,
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
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not rows:
            return []
        model = compiled.compiler.klass_info["model"]
        found: list[M] = []
        for row in compiled.compiler.results_iter([rows]):
            obj = model.from_db(self._using, compiled.init_list, row[compiled.model_start:compiled.model_end])
            for populator in compiled.populators:
                populator.populate(row, obj)
            found.append(obj)
        return found

    def first(self, *args: Any) -> M | None:
        """The first instance, or None (build the queryset with its ordering and `[:1]`)."""
        found = self.all(*args)
        return found[0] if found else None
