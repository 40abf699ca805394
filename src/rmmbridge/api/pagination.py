"""Cursor pagination: lists are ordered by id and a page's `next_cursor` names the last id it returned."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.db.models import QuerySet

from rmmbridge.api.problems import ApiProblem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(pk: int) -> str:
    return base64.urlsafe_b64encode(f"id:{pk}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The id after which the page starts (0 without a cursor), or a 422 problem for a made-up cursor."""
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind == "id" and value.isdigit():
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiProblem(422, "cursor: not a cursor this API returned; leave it out to start at the first page, or pass "
                          "the next_cursor of the previous page.", errors=[{"field": "cursor", "message": "invalid"}])


def paginate(queryset: QuerySet[Any], cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    """One page of `queryset` in id order and the cursor of the next page (None on the last page)."""
    after = decode_cursor(cursor)
    rows = list(queryset.filter(pk__gt=after).order_by("pk")[: limit + 1])
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode_cursor(int(rows[-1].pk))
    return rows, None
