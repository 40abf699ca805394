"""Ticket pages: list with filters, detail with history, notes, status changes and close, creation, types."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from rmmbridge.servicedesk.actions import Actor
from rmmbridge.servicedesk.htmx import is_htmx
from rmmbridge.servicedesk.models import Asset, FieldDefinition
from rmmbridge.tickets.actions import (
    do_add_note,
    do_assign_ticket,
    do_change_status,
    do_close_ticket,
    do_create_ticket_type,
    do_open_ticket,
    do_reopen_ticket,
    do_update_ticket_type,
)
from rmmbridge.tickets.choices import OPEN_STATUSES, TicketPriority, TicketSource, TicketStatus, allowed_next
from rmmbridge.tickets.forms import CloseForm, NoteForm, StatusForm, TicketCreateForm, TicketFilterForm, TicketTypeForm
from rmmbridge.tickets.models import Ticket, TicketType
from rmmbridge.tickets.panels import render_panels

PAGE_SIZE = 50



def filtered_tickets(form: TicketFilterForm) -> QuerySet[Ticket]:
    """Tickets matching a (validated) filter form, with what the list shows loaded up front."""
    tickets = Ticket.objects.select_related("customer", "ticket_type", "site", "assigned_to").prefetch_related("assets")
    data = form.cleaned_data if form.is_valid() else {}
    status = data.get("status") or ""
    if status == "":
        tickets = tickets.filter(status__in=OPEN_STATUSES)
    elif status != "all":
        tickets = tickets.filter(status=status)
    if data.get("customer"):
        tickets = tickets.filter(customer=data["customer"])
    if data.get("ticket_type"):
        tickets = tickets.filter(ticket_type=data["ticket_type"])
    if data.get("source"):
        tickets = tickets.filter(source=data["source"])
    query = (data.get("q") or "").strip()
    if query:
        by_asset = Asset.objects.filter(tickets=OuterRef("pk"), name__icontains=query)
        condition = Q(summary__icontains=query) | Q(alert_key__icontains=query) | Q(Exists(by_asset))
        number = query.lstrip("#")
        if number.isdigit():
            condition |= Q(pk=int(number))
        tickets = tickets.filter(condition)
    return tickets.order_by("-id")


def ticket_list(request: HttpRequest) -> HttpResponse:
    """Tickets, newest first, filtered by status, customer, type, source and a search; 50 a page."""
    form = TicketFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        for field, errors in form.errors.items():
            messages.error(request, f"Filter '{field}': {' '.join(str(e) for e in errors)}")
    page = Paginator(filtered_tickets(form) if form.is_bound else filtered_tickets(TicketFilterForm({})),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    context = {"form": form, "page": page, "query_string": params.urlencode()}
    template = "tickets/_ticket_table.html" if is_htmx(request) else "tickets/ticket_list.html"
    return render(request, template, context)


def _asset_rows(ticket: Ticket) -> list[dict[str, Any]]:
    """The linked devices with their details: hostname, type, site, user and the fields that carry values."""
    labels = {d.key: d.label for d in FieldDefinition.objects.all()}
    rows = []
    for asset in ticket.assets.select_related("asset_type", "site", "end_user"):
        hostname = str(asset.values.get("hostname") or asset.name or "")
        values = sorted(asset.values.items())
        fields = [(labels.get(key, key), value) for key, value in values
                  if value not in ("", None) and key != "hostname"]
        rows.append({"asset": asset, "hostname": hostname, "fields": fields})
    return rows


def assignable_users() -> QuerySet[Any]:
    """The users a ticket can be assigned to: active staff, by username."""
    return get_user_model().objects.filter(is_active=True, is_staff=True).order_by("username")


def _detail_context(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {
        "ticket": ticket,
        "assignable": assignable_users(),
        "next_statuses": [(s, TicketStatus(s).label) for s in allowed_next(ticket.status)
                          if s != TicketStatus.CLOSED],
        "history": ticket.actions.select_related("actor"),
        "note_form": NoteForm(),
        "close_form": CloseForm(),
    }
    context.update(extra)
    return context


def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One ticket: its details, linked devices, panels from other apps, history and the actions."""
    ticket = get_object_or_404(Ticket.objects.select_related("customer", "site", "end_user", "ticket_type",
                                                               "assigned_to"), pk=pk)
    context = _detail_context(ticket, assets=_asset_rows(ticket), panels=render_panels(ticket))
    return render(request, "tickets/ticket_detail.html", context)


def _after_write(request: HttpRequest, ticket: Ticket, error: str = "") -> HttpResponse:
    """HTMX: the status block (and the history, out of band); otherwise back to the detail page."""
    if is_htmx(request):
        ticket.refresh_from_db()
        return render(request, "tickets/_status_block.html", _detail_context(ticket, error=error, oob=True))
    if error:
        messages.error(request, error)
    return redirect("tickets:ticket_detail", pk=ticket.pk)


@require_POST
def ticket_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close the ticket with an optional note."""
    ticket = get_object_or_404(Ticket, pk=pk)
    form = CloseForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    else:
        try:
            do_close_ticket(Actor.ui(request.user), ticket, note=form.cleaned_data["note"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            if not is_htmx(request):
                messages.success(request, f"Ticket #{ticket.pk} closed.")
    return _after_write(request, ticket, error)


@require_POST
def ticket_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Assign the ticket to an active staff user, or unassign it (empty choice); audited by do_assign_ticket."""
    ticket = get_object_or_404(Ticket.objects.select_related("assigned_to"), pk=pk)
    raw = (request.POST.get("assigned_to") or "").strip()
    error = ""
    user = None
    if raw:
        user = get_user_model().objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if user is None:
            error = f"There is no user with id '{raw}'; choose one of the staff users in the list."
    if not error:
        try:
            do_assign_ticket(Actor.ui(request.user), ticket, user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if is_htmx(request):
        ticket = Ticket.objects.select_related("assigned_to").get(pk=ticket.pk)
        response = render(request, "tickets/_assignee.html", _detail_context(ticket, assign_error=error, oob=True))
        if error:
            response.status_code = 422
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Ticket #{ticket.pk} assigned." if user is not None else
                         f"Ticket #{ticket.pk} unassigned.")
    return redirect("tickets:ticket_detail", pk=ticket.pk)


@require_POST
def ticket_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Move the ticket to another status of its workflow (closing goes through ticket_close)."""
    ticket = get_object_or_404(Ticket, pk=pk)
    form = StatusForm(request.POST)
    error = ""
    if not form.is_valid():
        error = "Choose a valid status: " + ", ".join(TicketStatus.values) + "."
    else:
        status = form.cleaned_data["status"]
        try:
            if status == TicketStatus.OPEN and ticket.status == TicketStatus.CLOSED:
                do_reopen_ticket(Actor.ui(request.user), ticket, note=form.cleaned_data["note"])
            else:
                do_change_status(Actor.ui(request.user), ticket, status, note=form.cleaned_data["note"])
        except ValidationError as exc:
            error = " ".join(exc.messages)
    return _after_write(request, ticket, error)


@require_POST
def ticket_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a note to the ticket's history."""
    ticket = get_object_or_404(Ticket, pk=pk)
    form = NoteForm(request.POST)
    error = ""
    try:
        do_add_note(Actor.ui(request.user), ticket, form.data.get("text", ""))
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if is_htmx(request):
        ticket.refresh_from_db()
        context = _detail_context(ticket, note_error=error)
        if error:
            context["note_form"] = form
        return render(request, "tickets/_history.html", context)
    if error:
        messages.error(request, error)
    return redirect("tickets:ticket_detail", pk=ticket.pk)


def ticket_create(request: HttpRequest) -> HttpResponse:
    """Open a ticket by hand. Choosing a customer reloads its sites, users and assets (HTMX)."""
    if request.method == "POST":
        form = TicketCreateForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ticket = do_open_ticket(
                    Actor.ui(request.user),
                    summary=data["summary"], details=data["details"], ticket_type=data["ticket_type"],
                    customer=data["customer"], site=data["site"], end_user=data["end_user"],
                    assets=list(data["assets"]), priority=data["priority"], source=TicketSource.MANUAL,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"Ticket #{ticket.pk} opened.")
                return redirect("tickets:ticket_detail", pk=ticket.pk)
    else:
        form = TicketCreateForm(initial={"customer": request.GET.get("customer", "")})
    if is_htmx(request) and request.method == "GET":
        return render(request, "tickets/_customer_fields.html", {"form": form})
    return render(request, "tickets/ticket_form.html", {"form": form})


def ticket_types(request: HttpRequest) -> HttpResponse:
    """Ticket types: create one, change a default priority, activate or deactivate."""
    form = TicketTypeForm()
    if request.method == "POST":
        actor = Actor.ui(request.user)
        if "toggle" in request.POST or "priority" in request.POST:
            raw_id = str(request.POST.get("type_id", "")).strip()
            if not raw_id.isascii() or not raw_id.isdigit() or len(raw_id) > 18:
                messages.error(request, f"Unknown ticket type {raw_id[:40]!r}; choose a type from the list.")
                return redirect("tickets:ticket_types")
            ticket_type = get_object_or_404(TicketType, pk=int(raw_id))
            try:
                if "toggle" in request.POST:
                    do_update_ticket_type(actor, ticket_type, active=not ticket_type.active)
                else:
                    do_update_ticket_type(actor, ticket_type, default_priority=int(request.POST["priority"]))
            except (ValidationError, ValueError) as exc:
                text = " ".join(exc.messages) if isinstance(exc, ValidationError) else "Choose a priority from 1 to 4."
                messages.error(request, text)
            else:
                messages.success(request, f"Ticket type '{ticket_type.name}' updated.")
            return redirect("tickets:ticket_types")
        form = TicketTypeForm(request.POST)
        if form.is_valid():
            try:
                created = do_create_ticket_type(actor, form.cleaned_data["name"],
                                                default_priority=form.cleaned_data["default_priority"])
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error("name", message)
            else:
                messages.success(request, f"Ticket type '{created.name}' created.")
                return redirect(reverse("tickets:ticket_types"))
    types = TicketType.objects.all()
    context = {"form": form, "types": types, "priorities": TicketPriority.choices}
    return render(request, "tickets/ticket_types.html", context)
