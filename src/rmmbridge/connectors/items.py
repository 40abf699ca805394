"""Validation of one vendor list item into its pydantic schema; a bad item becomes a SkippableRecordError."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from rmmbridge.connectors.errors import SkippableRecordError

M = TypeVar("M", bound=BaseModel)


def validate_item(model: type[M], raw: Any, what: str, *, vendor: str, id_keys: Sequence[str]) -> M:
    """Validate one list item; raise SkippableRecordError naming the vendor, the item's id and what is wrong."""
    if not isinstance(raw, Mapping):
        raise SkippableRecordError(f"{vendor} {what} is not an object: {str(raw)[:80]!r}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        ident = next((raw[key] for key in id_keys if key in raw), "?")
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])
        raise SkippableRecordError(f"{vendor} {what} {ident!r} skipped – {problems}") from None
