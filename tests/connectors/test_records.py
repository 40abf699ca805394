"""records.flatten: every vendor field reachable by a dotted name."""

from __future__ import annotations

from enum import StrEnum

from rmmbridge.connectors.records import flatten


class Colour(StrEnum):
    RED = "red"


def test_nested_dicts_become_dotted_names() -> None:
    assert flatten({"udf": {"udf1": "a", "udf2": None}, "antivirus": {"antivirusStatus": "ok"}, "online": True,
                    "id": 7, "ratio": 0.5}) == {
        "udf.udf1": "a", "udf.udf2": None, "antivirus.antivirusStatus": "ok", "online": True, "id": 7, "ratio": 0.5,
    }


def test_lists_of_scalars_join_and_lists_of_objects_index() -> None:
    data = {"ips": ["10.0.0.1", None, "10.0.0.2"], "nics": [{"mac": "AA"}, {"mac": "BB", "ips": ("x", "y")}],
            "empty": [], "mixed": [{"a": 1}, 2]}
    assert flatten(data) == {
        "ips": "10.0.0.1, , 10.0.0.2", "nics.0.mac": "AA", "nics.1.mac": "BB", "nics.1.ips": "x, y", "empty": "",
        "mixed.0.a": 1, "mixed.1": 2,
    }


def test_other_values_become_text_and_prefix_and_out_are_honoured() -> None:
    out: dict[str, object] = {"kept": 1}
    result = flatten({"when": object.__new__(type("T", (), {"__str__": lambda self: "T!"})), "c": Colour.RED},
                     prefix="raw", out=out)  # type: ignore[arg-type]
    assert result is out
    assert result == {"kept": 1, "raw.when": "T!", "raw.c": Colour.RED}
    assert flatten(5, prefix="x") == {"x": 5}
