"""What the API's resources share: the cursor and limit parameters, 404 lookups, body references, pages."""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Model, QuerySet
from ninja import Query

from rmmbridge.alerts.models import EventStatus
from rmmbridge.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from rmmbridge.api.problems import ApiProblem
from rmmbridge.tickets.choices import TicketSource, TicketStatus

Cursor = Query(None, description="The next_cursor of the previous page; leave out for the first page.")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT}).")
PositiveId = Query(None, ge=1)
TicketStatusParam = Literal["new", "open", "on_hold", "closed"]
EventStatusParam = Literal["pending", "processed", "duplicate", "unmatched", "rejected", "error"]
TicketSourceParam = Literal["email", "webhook", "poll", "manual"]
assert set(TicketStatusParam.__args__) == set(TicketStatus.values)  # type: ignore[attr-defined]
assert set(TicketSourceParam.__args__) == set(TicketSource.values)  # type: ignore[attr-defined]
assert set(EventStatusParam.__args__) == set(EventStatus.values)  # type: ignore[attr-defined]



def get_or_404(model: type[Model], pk: int, what: str, queryset: QuerySet[Any] | None = None) -> Any:
    """The object with this id, or a 404 problem that says where to find the right one."""
    obj = (queryset if queryset is not None else model._default_manager.all()).filter(pk=pk).first()
    if obj is None:
        raise ApiProblem(404, f"No {what} with id {pk}; list them at the collection to find the right id.")
    return obj


def page_of(queryset: QuerySet[Any], cursor: str | None, limit: int, dump: Any = None) -> dict[str, Any]:
    """One cursor page of a collection, its rows dumped by `dump` when given."""
    rows, next_cursor = paginate(queryset, cursor, limit)
    return {"items": dump(rows) if dump else rows, "next_cursor": next_cursor}


def ref_body(field: str, pk: int | None, model: type[Model], what: str) -> Any:
    """The object a request body refers to by id, or a 422 problem naming the field."""
    if pk is None:
        return None
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        raise ApiProblem(422, f"{field}: no {what} with id {pk}.", errors=[{"field": field, "message": "not found"}])
    return obj
