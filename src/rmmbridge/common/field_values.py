"""A model field's value as the database gets it on save, without Django's per-value call chain where it is plain.

`field.get_db_prep_save(field.pre_save(obj, add), connection)` walks four to six methods per field and value;
on the alert path (a dozen fields a row, several rows an alert) that was a twentieth of the receiver's time.
For the field classes whose methods are Django's own and whose answer for a plain value is that value itself —
text in a CharField or TextField, a bool in a BooleanField, an int in an integer field or a foreign key to an
auto id, None in any of them — `value_getter` returns a getter that hands the value over as it is; anything
else (another value type, a subclass that overrides a step, a backend that adapts integers, a field with its
own `pre_save` such as `auto_now`) goes through Django's full chain. Whether a field qualifies is decided once,
by method identity, not by name; the test compares both paths on every field of every installed model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import BooleanField, CharField, Field, ForeignKey, IntegerField, Model, TextField
from django.db.models.fields import AutoFieldMixin

Getter = Callable[[Model], Any]


def _same(cls: type, name: str, owner: type) -> bool:
    return getattr(cls, name) is getattr(owner, name)


def _plain_chain(cls: type, prep_owner: type, db_owner: type = Field) -> bool:
    """The save chain is Django's Field.get_db_prep_save → `db_owner`'s get_db_prep_value → `prep_owner`'s
    get_prep_value (and its to_python), with the default pre_save (the attribute as it is)."""
    return (_same(cls, "pre_save", Field) and _same(cls, "get_db_prep_save", Field)
            and _same(cls, "get_db_prep_value", db_owner) and _same(cls, "get_prep_value", prep_owner)
            and _same(cls, "to_python", prep_owner))


def _integers_as_they_are(connection: Any) -> bool:
    ops = type(connection.ops)
    return (_same(ops, "adapt_integerfield_value", BaseDatabaseOperations)
            and _same(ops, "validate_autopk_value", BaseDatabaseOperations))


def _auto_id(field: Any) -> bool:
    """An auto-incrementing id whose save chain only checks the number (AutoField, BigAutoField, ...)."""
    cls = type(field)
    return (isinstance(field, AutoFieldMixin) and _same(cls, "get_db_prep_value", AutoFieldMixin)
            and _same(cls, "get_prep_value", IntegerField) and _same(cls, "get_db_prep_save", Field))


def _kind(field: Any, connection: Any) -> type | None:
    """The value type a field's save chain gives back unchanged (None: always take the full chain)."""
    cls = type(field)
    if _plain_chain(cls, CharField) or _plain_chain(cls, TextField):
        return str  # to_python keeps any str (TextChoices members included) and None as they are
    if _plain_chain(cls, BooleanField):
        return bool
    if _integers_as_they_are(connection):
        if _plain_chain(cls, IntegerField, IntegerField):
            return int
        if (isinstance(field, ForeignKey) and _same(cls, "pre_save", Field)
                and _same(cls, "get_db_prep_save", ForeignKey) and _auto_id(field.target_field)):
            return int
    return None


def value_getter(field: Any, connection: Any, add: bool) -> Getter:
    """obj -> the value `field.get_db_prep_save(field.pre_save(obj, add), connection)` would give."""
    kind = _kind(field, connection)
    attname = field.attname
    if kind is None:
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, add), connection)
    full = field.get_db_prep_save

    if kind is int:
        def integer(obj: Model) -> Any:
            value = getattr(obj, attname)
            # bool is an int too, but int(True) is 1: only an exact int (or None) is kept as it is
            return value if value is None or type(value) is int else full(value, connection)
        return integer

    if kind is str:
        def text(obj: Model) -> Any:
            value = getattr(obj, attname)
            return value if value is None or isinstance(value, str) else full(value, connection)
        return text

    def boolean(obj: Model) -> Any:
        value = getattr(obj, attname)
        return value if value is None or type(value) is bool else full(value, connection)
    return boolean
