"""Lenient, lossless validation of vendor list items: a bad optional field costs that field, never the record."""

from __future__ import annotations

import contextvars
import copy
import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rmmbridge.connectors.errors import ConnectorError, SkippableRecordError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

#: Rounds of "drop the offending fields and validate again" before an item counts as unreadable.
MAX_ROUNDS = 8
#: Detailed examples kept per FieldIssues (the counts cover everything).
MAX_EXAMPLES = 20


@dataclass(frozen=True, slots=True)
class DroppedField:
    """One field left out of a record: its dotted name (list positions omitted) and why (`null`, `unreadable`)."""

    name: str
    reason: str
    detail: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.reason})"


def json_objects(body: bytes, *, template_from: str, needs: str) -> list[Mapping[str, Any]]:
    """A pushed JSON body as its objects (one object or a list of them); a clear error saying what to paste else."""
    try:
        payload: Any = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConnectorError(f"The webhook body is not JSON ({exc}); paste the template from {template_from}.") \
            from None
    items = payload if isinstance(payload, list) else [payload]
    for item in items:
        if not isinstance(item, Mapping):
            raise ConnectorError(f"Each webhook item must be a JSON object with at least {needs}.")
    return items


def _plural(what: str) -> str:
    if what.endswith("y") and not what.endswith(("ay", "ey", "oy")):
        return what[:-1] + "ies"
    return what if what.endswith("s") else what + "s"


class FieldIssues:
    """Fields dropped while reading records, counted per record kind and per "field (reason)"; thread-safe.

    ``summaries()`` gives the lines a sync run shows, e.g. "3 devices had unreadable fields: ipAddresses (null)".
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.records: Counter[str] = Counter()
        self.fields: dict[str, Counter[str]] = {}
        self.examples: list[str] = []

    def note(self, what: str, ident: Any, dropped: Sequence[DroppedField]) -> None:
        """Count one record of kind ``what`` that lost ``dropped`` fields."""
        if not dropped:
            return
        with self._lock:
            self.records[what] += 1
            counter = self.fields.setdefault(what, Counter())
            for label in dict.fromkeys(d.label for d in dropped):
                counter[label] += 1
            if len(self.examples) < MAX_EXAMPLES:
                details = "; ".join(f"{d.name}: {d.detail}" if d.detail else d.label for d in dropped)
                self.examples.append(f"{what} {ident!r}: {details}")

    @property
    def total(self) -> int:
        """Records (of every kind) that lost at least one field."""
        return sum(self.records.values())

    def summary(self, what: str) -> str:
        """One line for a record kind, or "" when none of its records lost a field."""
        count = self.records.get(what, 0)
        if not count:
            return ""
        parts = [label if n == count else f"{label} ×{n}" for label, n in self.fields[what].most_common()]
        noun = what if count == 1 else _plural(what)
        return f"{count} {noun} had unreadable fields: {', '.join(parts)}"

    def summaries(self) -> list[str]:
        with self._lock:
            kinds = list(self.records)
        return [self.summary(what) for what in kinds]


#: The FieldIssues a connector's iterator is filling while it runs (see `collecting`); validate_item counts there
#: when it is not given its own.
_CURRENT: contextvars.ContextVar[FieldIssues | None] = contextvars.ContextVar("field_issues", default=None)


def collecting(items: Iterable[T], issues: FieldIssues) -> Iterator[T]:
    """Iterate ``items`` with ``issues`` as the current collector at every step (in whichever thread reads them).

    The Connector base wraps each vendor's iter_* methods with it, so items validated inside a vendor's own loop
    are counted on the connector too.
    """
    iterator = iter(items)
    while True:
        token = _CURRENT.set(issues)
        try:
            item = next(iterator)
        except StopIteration:
            return
        finally:
            _CURRENT.reset(token)
        yield item


def current_issues() -> FieldIssues | None:
    return _CURRENT.get()


def _reason(value: Any) -> str:
    return "null" if value is None else "unreadable"


def _drop(data: MutableMapping[str, Any], loc: Sequence[int | str]) -> tuple[str, Any] | None:
    """Remove the value at ``loc`` (or at the deepest point of it the data has); return (dotted name, value)."""
    container: Any = data
    found: tuple[Any, int | str] | None = None
    names: list[str] = []
    for key in loc:
        if isinstance(container, MutableMapping) and isinstance(key, str) and key in container:
            names.append(key)
        elif not (isinstance(container, list) and isinstance(key, int) and 0 <= key < len(container)):
            break  # a union member's tag or a key the data lacks: drop what was reached
        found = (container, key)
        container = container[key]
    if found is None or not names:
        return None
    parent, last = found
    return ".".join(names), parent.pop(last)


def _required(model: type[BaseModel], name: str) -> bool:
    info = model.model_fields.get(name)
    return info is not None and info.is_required()


def validate_item(
    model: type[M],
    raw: Any,
    what: str,
    *,
    vendor: str,
    id_keys: Sequence[str],
    issues: FieldIssues | None = None,
) -> M:
    """Validate one list item leniently; raise SkippableRecordError only when a required field is unusable.

    A null or unreadable optional field (also inside nested objects, or one bad element of a list) is left out —
    the model's default applies, so a null list reads as empty — and counted in ``issues`` (by default the
    collector of the connector iterator running, see `collecting`) as "field (reason)".
    ``raw`` itself is never changed: every vendor field, null or odd, stays available to the caller.
    """
    if not isinstance(raw, Mapping):
        raise SkippableRecordError(f"{vendor} {what} is not an object: {str(raw)[:80]!r}")
    try:
        return model.model_validate(raw)
    except ValidationError as first:
        error = first
    ident = next((raw[key] for key in id_keys if key in raw and raw[key] is not None), "?")
    data: dict[str, Any] = copy.deepcopy(dict(raw))
    dropped: list[DroppedField] = []
    for _ in range(MAX_ROUNDS):
        removed_any = False
        # later list positions first, so dropping one element does not shift the others of the same round
        ordered = sorted(error.errors(), key=lambda e: [-k if isinstance(k, int) else 0 for k in e["loc"]])
        for problem in ordered:
            loc = tuple(problem["loc"])
            if problem["type"] == "missing":
                loc = loc[:-1]  # a required field of a nested object is missing: the nested object goes
            if not loc or (len(loc) == 1 and isinstance(loc[0], str) and _required(model, loc[0])):
                removed_any = False
                break  # a required top-level field is unusable: the record cannot be read
            removed = _drop(data, loc)
            if removed is None:
                continue
            name, value = removed
            detail = "" if value is None else f"{problem['msg']} ({str(value)[:40]!r})"
            dropped.append(DroppedField(name, _reason(value), detail))
            removed_any = True
        if not removed_any:
            break
        try:
            result = model.model_validate(data)
        except ValidationError as again:
            error = again
            continue
        collector = issues if issues is not None else _CURRENT.get()
        if collector is not None:
            collector.note(what, ident, dropped)
        return result
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in error.errors()[:3])
    raise SkippableRecordError(f"{vendor} {what} {ident!r} skipped – {problems}") from None


@dataclass(frozen=True, slots=True)
class ItemParser:
    """A vendor's `validate_item` with its name and id keys bound: ``parse_item = ItemParser("N-central", (...))``.

    The vendor's pure normalisers and tests call it; its connector states the same ``id_keys`` for `stream`.
    """

    vendor: str
    id_keys: tuple[str, ...]

    def __call__(self, model: type[M], raw: Any, what: str) -> M:
        """Validate one item leniently (see validate_item); SkippableRecordError names the item and the problem."""
        return validate_item(model, raw, what, vendor=self.vendor, id_keys=self.id_keys)
