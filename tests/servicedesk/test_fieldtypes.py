"""coerce_value: every data type converts to its stored JSON form, round-trips, and rejects bad input clearly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmmbridge.servicedesk.fieldtypes import DataType, FieldValueError, coerce_value

CHOICES = ("Gold", "Silver", "Bronze")


def roundtrip(data_type: DataType, value: object, choices: tuple[str, ...] = ()) -> object:
    """Store a value, pass it through JSON (as the database does), and coerce the stored form again."""
    stored = coerce_value("F", data_type, value, choices)
    reloaded = json.loads(json.dumps(stored))
    assert coerce_value("F", data_type, reloaded, choices) == stored
    return stored


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_integers_round_trip_from_int_and_text(number: int) -> None:
    assert roundtrip(DataType.INTEGER, number) == number
    assert roundtrip(DataType.INTEGER, str(number)) == number
    assert roundtrip(DataType.INTEGER, f" {number:,} ") == number


@given(st.decimals(allow_nan=False, allow_infinity=False, places=4, min_value=-(10**9), max_value=10**9))
def test_decimals_round_trip_as_normalised_text(number: Decimal) -> None:
    stored = roundtrip(DataType.DECIMAL, number)
    assert isinstance(stored, str)
    assert Decimal(stored) == number


@given(st.booleans(), st.sampled_from(["{}", "{} ", "{}".upper()]))
def test_booleans_round_trip(flag: bool, template: str) -> None:
    word = template.format("yes" if flag else "no")
    assert roundtrip(DataType.BOOLEAN, flag) is flag
    assert roundtrip(DataType.BOOLEAN, word) is flag
    assert roundtrip(DataType.BOOLEAN, "1" if flag else "0") is flag


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_dates_round_trip_as_iso(day: dt.date) -> None:
    assert roundtrip(DataType.DATE, day) == day.isoformat()
    assert roundtrip(DataType.DATE, day.isoformat()) == day.isoformat()


@given(
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2200, 1, 1),
                 timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                            dt.timezone(dt.timedelta(hours=-7))]))
)
def test_datetimes_round_trip_in_utc(stamp: dt.datetime) -> None:
    stored = roundtrip(DataType.DATETIME, stamp)
    assert isinstance(stored, str)
    parsed = dt.datetime.fromisoformat(stored)
    assert parsed == stamp
    assert parsed.utcoffset() == dt.timedelta(0)
    assert roundtrip(DataType.DATETIME, stamp.isoformat()) == stored


def test_datetime_with_z_and_naive_text_is_utc() -> None:
    assert coerce_value("F", DataType.DATETIME, "2026-01-31T14:05:00Z") == "2026-01-31T14:05:00+00:00"
    assert coerce_value("F", DataType.DATETIME, "2026-01-31T14:05:00") == "2026-01-31T14:05:00+00:00"


@given(st.sampled_from(CHOICES), st.sampled_from([str.lower, str.upper, str.title]))
def test_choices_match_ignoring_case_and_store_the_defined_spelling(choice: str, case: object) -> None:
    assert roundtrip(DataType.CHOICE, case(choice), CHOICES) == choice  # type: ignore[operator]


@given(st.text(max_size=300))
def test_text_round_trips_stripped(text: str) -> None:
    stored = roundtrip(DataType.TEXT, text)
    assert stored == (text.strip() or None)


@pytest.mark.parametrize("data_type", list(DataType))
@pytest.mark.parametrize("blank", [None, "", "   "])
def test_blank_means_no_value_for_every_type(data_type: DataType, blank: object) -> None:
    assert coerce_value("F", data_type, blank, CHOICES) is None


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz!?", min_size=1, max_size=20))
def test_words_are_never_numbers_and_the_message_names_field_value_and_type(word: str) -> None:
    for data_type, expected in ((DataType.INTEGER, "a whole number"), (DataType.DECIMAL, "a decimal number")):
        with pytest.raises(FieldValueError) as caught:
            coerce_value("Memory", data_type, word)
        assert str(caught.value) == f"Field 'Memory' expects {expected}; got '{word}'."
        assert caught.value.field_label == "Memory"
        assert caught.value.value == word


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        (DataType.INTEGER, True),
        (DataType.INTEGER, 2.5),
        (DataType.DECIMAL, "NaN"),
        (DataType.DECIMAL, "Infinity"),
        (DataType.DECIMAL, False),
        (DataType.BOOLEAN, "perhaps"),
        (DataType.DATE, "31/01/2026"),
        (DataType.DATETIME, "noon"),
        (DataType.CHOICE, "Platinum"),
    ],
)
def test_values_that_do_not_fit_are_rejected(data_type: DataType, value: object) -> None:
    with pytest.raises(FieldValueError, match=r"^Field 'F' expects .*; got "):
        coerce_value("F", data_type, value, CHOICES)


def test_non_text_value_is_shown_with_repr() -> None:
    with pytest.raises(FieldValueError, match=r"got True\.$"):
        coerce_value("F", DataType.INTEGER, True)
