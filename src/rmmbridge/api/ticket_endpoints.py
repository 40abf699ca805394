"""The REST API's ticket resources: list, read, open, assign, note and close."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from ninja import Query, Router, Status

from rmmbridge.api import schemas as s
from rmmbridge.api.auth import require
from rmmbridge.api.lookups import (
    Cursor,
    Limit,
    PositiveId,
    TicketSourceParam,
    TicketStatusParam,
    get_or_404,
    page_of,
    ref_body,
)
from rmmbridge.api.problems import ApiProblem
from rmmbridge.servicedesk.models import Asset, Customer, EndUser, Site
from rmmbridge.tickets import actions as ticket_actions
from rmmbridge.tickets.models import Ticket, TicketType

router = Router()


def _tickets(rows: list[Ticket]) -> list[dict[str, Any]]:
    through = Ticket.assets.through
    assets: dict[int, list[int]] = {}
    for ticket_id, asset_id in (through.objects.filter(ticket_id__in=[t.pk for t in rows])
                                .order_by("id").values_list("ticket_id", "asset_id")):
        assets.setdefault(ticket_id, []).append(asset_id)
    return [{
        "id": t.pk, "summary": t.summary, "details": t.details, "status": t.status, "priority": t.priority,
        "ticket_type_id": t.ticket_type_id, "ticket_type": t.ticket_type.name, "customer_id": t.customer_id,
        "site_id": t.site_id, "end_user_id": t.end_user_id, "asset_ids": assets.get(t.pk, []), "source": t.source,
        "alert_key": t.alert_key, "occurrences": t.occurrences, "flapping": t.flapping,
        "assigned_to": t.assigned_to.get_username() if t.assigned_to is not None else None, "created_at": t.created_at,
        "updated_at": t.updated_at, "closed_at": t.closed_at,
    } for t in rows]



@router.get("/tickets/", response=s.TicketPage, tags=["tickets"])
def list_tickets(request: HttpRequest, status: TicketStatusParam | None = None,
                 source: TicketSourceParam | None = None, customer: int | None = PositiveId,
                 asset: int | None = PositiveId, alert_key: str | None = Query(None, max_length=255),
                 cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    queryset = Ticket.objects.select_related("ticket_type", "assigned_to")
    if status:
        queryset = queryset.filter(status=status)
    if source:
        queryset = queryset.filter(source=source)
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if asset is not None:
        queryset = queryset.filter(assets__id=asset)
    if alert_key:
        queryset = queryset.filter(alert_key=alert_key)
    return page_of(queryset, cursor, limit, _tickets)


def _ticket(pk: int) -> Ticket:
    return get_or_404(Ticket, pk, "ticket", Ticket.objects.select_related("ticket_type", "assigned_to"))


@router.get("/tickets/{ticket_id}/", response=s.TicketOut, tags=["tickets"])
def get_ticket(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    require(request, "view")
    return _tickets([_ticket(ticket_id)])[0]


@router.post("/tickets/", response={201: s.TicketOut}, tags=["tickets"])
def open_ticket(request: HttpRequest, payload: s.TicketIn) -> Status[dict[str, Any]]:
    """Open a ticket (source manual, audited as API); site, user and assets must belong to the customer."""
    who = require(request, "tickets.write")
    customer = ref_body("customer_id", payload.customer_id, Customer, "customer")
    if payload.ticket_type_id is None:
        ticket_type = TicketType.objects.filter(active=True).first()
        if ticket_type is None:
            raise ApiProblem(422, "ticket_type_id: there is no active ticket type; create one first.")
    else:
        ticket_type = ref_body("ticket_type_id", payload.ticket_type_id, TicketType, "ticket type")
    assets = list(Asset.objects.filter(pk__in=payload.asset_ids))
    missing = sorted(set(payload.asset_ids) - {a.pk for a in assets})
    if missing:
        raise ApiProblem(422, f"asset_ids: no asset with id {missing[0]}.",
                         errors=[{"field": "asset_ids", "message": f"not found: {missing}"}])
    ticket = ticket_actions.do_open_ticket(
        who.actor, summary=payload.summary, details=payload.details, ticket_type=ticket_type, customer=customer,
        site=ref_body("site_id", payload.site_id, Site, "site"),
        end_user=ref_body("end_user_id", payload.end_user_id, EndUser, "user"),
        assets=sorted(assets, key=lambda a: payload.asset_ids.index(a.pk)), priority=payload.priority,
        assigned_to=_assignee(payload.assigned_to),
    )
    return Status(201, _tickets([_ticket(ticket.pk)])[0])


def _assignee(username: str | None) -> Any:
    """The user to assign (None: nobody); 422 naming what to fix when there is no such user or they cannot work
    tickets (only active staff users can)."""
    if username is None:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ApiProblem(422, f"assigned_to: there is no user named '{username}'; give the username of an active "
                              "staff user.", errors=[{"field": "assigned_to", "message": "not found"}])
    problem = ticket_actions.assignee_problem(user)
    if problem:
        raise ApiProblem(422, f"assigned_to: {problem}", errors=[{"field": "assigned_to", "message": problem}])
    return user


@router.post("/tickets/{ticket_id}/assign/", response=s.TicketOut, tags=["tickets"])
def assign_ticket(request: HttpRequest, ticket_id: int, payload: s.AssignIn) -> dict[str, Any]:
    """Assign a ticket to an active staff user (by username), or unassign it with null; recorded in its history
    and the audit log."""
    who = require(request, "tickets.write")
    ticket = _ticket(ticket_id)
    ticket_actions.do_assign_ticket(who.actor, ticket, _assignee(payload.assigned_to))
    return _tickets([_ticket(ticket_id)])[0]


@router.post("/tickets/{ticket_id}/notes/", response={201: s.NoteOut}, tags=["tickets"])
def add_note(request: HttpRequest, ticket_id: int, payload: s.NoteIn) -> Status[Any]:
    who = require(request, "tickets.write")
    action = ticket_actions.do_add_note(who.actor, _ticket(ticket_id), payload.text)
    return Status(201, action)


@router.post("/tickets/{ticket_id}/close/", response=s.TicketOut, tags=["tickets"])
def close_ticket(request: HttpRequest, ticket_id: int, payload: s.CloseIn) -> dict[str, Any]:
    """Close a ticket; when an RMM alert opened it, the alert is resolved in the RMM (through the outbox)."""
    who = require(request, "tickets.write")
    ticket = _ticket(ticket_id)
    ticket_actions.do_close_ticket(who.actor, ticket, note=payload.note)
    return _tickets([_ticket(ticket_id)])[0]
