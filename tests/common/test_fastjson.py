"""fastjson reads and writes the same values as the standard library, falling back to it where orjson differs."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rmmbridge.common import fastjson

values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(values)
def test_what_it_writes_reads_back_as_json_dumps_would(value: Any) -> None:
    assert json.loads(fastjson.dumps(value)) == json.loads(json.dumps(value))


@given(values)
def test_what_it_reads_is_what_json_loads_reads(value: Any) -> None:
    text = json.dumps(value)
    assert fastjson.loads(text.encode()) == json.loads(text)
    assert fastjson.loads(text) == json.loads(text)


def test_what_orjson_refuses_is_read_by_the_standard_library() -> None:
    assert math.isnan(fastjson.loads(b'{"x": NaN}')["x"])
    assert fastjson.loads(b'[123456789012345678901234567890]') == [123456789012345678901234567890]
    assert fastjson.loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    with pytest.raises(ValueError, match="Expecting value"):  # the standard library's own error, as before
        fastjson.loads(b"<html>proxy error</html>")


def test_non_string_keys_are_written_as_json_dumps_writes_them_and_nan_as_null() -> None:
    assert json.loads(fastjson.dumps({1: "a", "b": [1.5, None]})) == {"1": "a", "b": [1.5, None]}
    assert json.loads(fastjson.dumps({"x": float("nan")})) == {"x": None}
    assert fastjson.dumps({"big": 2**80}) == json.dumps({"big": 2**80})


def test_every_research_sample_reads_the_same_as_with_the_standard_library() -> None:
    from tests.conftest import require_service
    from tests.connectors.samples import SAMPLES_ROOT

    require_service(SAMPLES_ROOT.is_dir(), "the research samples at ../shared/research/samples")
    files = sorted(SAMPLES_ROOT.glob("*/*.json"))
    assert files
    for path in files:
        body = path.read_bytes()
        assert fastjson.loads(body) == json.loads(body), path.name
