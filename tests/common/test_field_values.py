"""A field's save value read the short way is the one Django's full chain gives, for every field of every model."""

from __future__ import annotations

import enum
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.common.field_values import _kind, value_getter


class Colour(models.TextChoices):
    RED = "red", "Red"


class Flag(enum.IntEnum):
    ON = 1


#: Values of every kind a model attribute may hold before a save, right or wrong for the field.
VALUES = st.one_of(
    st.none(), st.text(max_size=20), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False), st.just(Colour.RED), st.just(Flag.ON), st.binary(max_size=8),
    st.sampled_from(["7", "-3", "", " 12 ", "1e3", "true"]),
)

FIELDS = [(model, field) for model in apps.get_models() for field in model._meta.concrete_fields
          if not field.primary_key]


def _outcome(call: Any, *args: Any) -> tuple[str, Any]:
    try:
        value = call(*args)
    except Exception as exc:  # the same failure is part of the same answer
        return ("raised", type(exc))
    return (type(value).__name__, value)


def _full_chain(field: Any, obj: Any, add: bool) -> Any:
    return field.get_db_prep_save(field.pre_save(obj, add), connection)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=VALUES, add=st.booleans())
def test_the_short_way_gives_what_django_gives_for_any_value_of_any_field(value: Any, add: bool) -> None:
    for model, field in FIELDS:
        if _kind(field, connection) is None:
            continue  # the getter is Django's own chain itself
        obj = model()
        setattr(obj, field.attname, value)
        getter = value_getter(field, connection, add)
        expected = _outcome(_full_chain, field, obj, add)
        assert _outcome(getter, obj) == expected, (model.__name__, field.name, value)


@pytest.mark.django_db
def test_plain_fields_take_the_short_way_and_the_rest_the_full_chain() -> None:
    from rmmbridge.alerts.models import AlertEvent

    meta = AlertEvent._meta
    assert _kind(meta.get_field("summary"), connection) is str
    assert _kind(meta.get_field("reason"), connection) is str  # a TextField
    # a datetime is converted, JSON encoded, bytes wrapped: always Django's chain
    for name in ("received_at", "headers", "raw"):
        assert _kind(meta.get_field(name), connection) is None
    integer = _kind(meta.get_field("integration"), connection)
    # integers are handed over as they are only where the backend does not adapt them (PostgreSQL does)
    assert integer is (None if connection.vendor == "postgresql" else int)
    booleans = [f for _m, f in FIELDS if isinstance(f, models.BooleanField)]
    assert booleans
    assert all(_kind(f, connection) is bool for f in booleans)


class _Shouting(models.CharField):
    def get_prep_value(self, value: Any) -> Any:
        return str(value).upper()


def test_a_field_that_overrides_a_step_takes_the_full_chain() -> None:
    field = _Shouting(max_length=10)
    field.set_attributes_from_name("word")
    assert _kind(field, connection) is None
    now = models.DateTimeField(auto_now=True)
    assert _kind(now, connection) is None
