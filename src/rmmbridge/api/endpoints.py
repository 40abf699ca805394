"""The REST API's resources: service-desk objects, tickets, integrations and their jobs, sync runs, alert events."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.api import schemas as s
from rmmbridge.api.auth import require
from rmmbridge.api.pagination import DEFAULT_LIMIT, MAX_LIMIT, paginate
from rmmbridge.api.problems import ApiProblem
from rmmbridge.integrations.actions import do_test_integration
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.integrator.dispatch import trigger_now
from rmmbridge.integrator.models import JobKind, JobRun
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, EndUser, FieldDefinition, Site
from rmmbridge.sync.models import SyncPlanRow, SyncRun
from rmmbridge.tickets import actions as ticket_actions
from rmmbridge.tickets.choices import TicketSource, TicketStatus
from rmmbridge.tickets.models import Ticket, TicketType

router = Router()

Cursor = Query(None, description="The next_cursor of the previous page; leave out for the first page.")
Limit = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (1–{MAX_LIMIT}).")
PositiveId = Query(None, ge=1)


def _get(model: type[Model], pk: int, what: str, queryset: QuerySet[Any] | None = None) -> Any:
    obj = (queryset if queryset is not None else model._default_manager.all()).filter(pk=pk).first()
    if obj is None:
        raise ApiProblem(404, f"No {what} with id {pk}; list them at the collection to find the right id.")
    return obj


def _page(queryset: QuerySet[Any], cursor: str | None, limit: int, dump: Any = None) -> dict[str, Any]:
    rows, next_cursor = paginate(queryset, cursor, limit)
    return {"items": dump(rows) if dump else rows, "next_cursor": next_cursor}


def _ref_body(field: str, pk: int | None, model: type[Model], what: str) -> Any:
    if pk is None:
        return None
    obj = model._default_manager.filter(pk=pk).first()
    if obj is None:
        raise ApiProblem(422, f"{field}: no {what} with id {pk}.", errors=[{"field": field, "message": "not found"}])
    return obj


# Service desk ------------------------------------------------------------------------------------------


@router.get("/customers/", response=s.CustomerPage, tags=["service desk"])
def list_customers(request: HttpRequest, active: bool | None = None, name: str | None = Query(None, max_length=200),
                   cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """Customers, optionally only active ones or those whose name contains `name`."""
    require(request, "view")
    queryset = Customer.objects.all()
    if active is not None:
        queryset = queryset.filter(active=active)
    if name:
        queryset = queryset.filter(name__icontains=name)
    return _page(queryset, cursor, limit)


@router.get("/customers/{customer_id}/", response=s.CustomerOut, tags=["service desk"])
def get_customer(request: HttpRequest, customer_id: int) -> Any:
    require(request, "view")
    return _get(Customer, customer_id, "customer")


@router.get("/sites/", response=s.SitePage, tags=["service desk"])
def list_sites(request: HttpRequest, customer: int | None = PositiveId, active: bool | None = None,
               cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    queryset = Site.objects.all()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if active is not None:
        queryset = queryset.filter(active=active)
    return _page(queryset, cursor, limit)


@router.get("/sites/{site_id}/", response=s.SiteOut, tags=["service desk"])
def get_site(request: HttpRequest, site_id: int) -> Any:
    require(request, "view")
    return _get(Site, site_id, "site")


@router.get("/users/", response=s.EndUserPage, tags=["service desk"])
def list_users(request: HttpRequest, customer: int | None = PositiveId, site: int | None = PositiveId,
               email: str | None = Query(None, max_length=254), active: bool | None = None,
               cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """The customers' end users (people at their sites), filtered by customer, site, e-mail (exact) or active."""
    require(request, "view")
    queryset = EndUser.objects.all()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if site is not None:
        queryset = queryset.filter(site_id=site)
    if email:
        queryset = queryset.filter(email__iexact=email.strip())
    if active is not None:
        queryset = queryset.filter(active=active)
    return _page(queryset, cursor, limit)


@router.get("/users/{user_id}/", response=s.EndUserOut, tags=["service desk"])
def get_user(request: HttpRequest, user_id: int) -> Any:
    require(request, "view")
    return _get(EndUser, user_id, "user")


def _asset_types(rows: list[AssetType]) -> list[dict[str, Any]]:
    return [{"id": t.pk, "name": t.name, "group_id": t.group_id, "group": t.group.name} for t in rows]


@router.get("/asset-types/", response=s.AssetTypePage, tags=["service desk"])
def list_asset_types(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    return _page(AssetType.objects.select_related("group"), cursor, limit, _asset_types)


def _fields(rows: list[FieldDefinition]) -> list[dict[str, Any]]:
    return [{"id": f.pk, "key": f.key, "name": f.name, "label": f.label, "kind": f.kind, "data_type": f.data_type,
             "choices": list(f.choices or []), "asset_type_ids": [t.pk for t in f.asset_types.all()]} for f in rows]


@router.get("/fields/", response=s.FieldPage, tags=["service desk"])
def list_fields(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """Asset fields and custom fields; an asset's `values` are keyed by each field's `key`."""
    require(request, "view")
    return _page(FieldDefinition.objects.prefetch_related("asset_types"), cursor, limit, _fields)


def _assets(rows: list[Asset]) -> list[dict[str, Any]]:
    refs: dict[int, list[dict[str, Any]]] = {}
    for ref in (ExternalRef.objects.filter(kind=RefKind.ASSET, object_id__in=[a.pk for a in rows])
                .select_related("integration").order_by("integration__name", "id")):
        refs.setdefault(ref.object_id, []).append({
            "integration_id": ref.integration_id, "integration": ref.integration.name,
            "external_id": ref.external_id, "last_seen": ref.last_seen, "missing_since": ref.missing_since})
    return [{
        "id": a.pk, "name": a.name, "asset_tag": a.asset_tag, "asset_type_id": a.asset_type_id,
        "asset_type": a.asset_type.name, "customer_id": a.customer_id, "site_id": a.site_id,
        "end_user_id": a.end_user_id, "parent_id": a.parent_id, "active": a.active, "values": dict(a.values or {}),
        "external_refs": refs.get(a.pk, []), "created_at": a.created_at, "updated_at": a.updated_at,
    } for a in rows]


@router.get("/assets/", response=s.AssetPage, tags=["service desk"])
def list_assets(
    request: HttpRequest,
    customer: int | None = PositiveId, site: int | None = PositiveId, asset_type: int | None = PositiveId,
    active: bool | None = None,
    serial: str | None = Query(None, min_length=1, max_length=255, description="Serial number (exact, any case)."),
    hostname: str | None = Query(None, min_length=1, max_length=255, description="Hostname or name (exact)."),
    integration: int | None = Query(None, ge=1, description="With external_id: the integration it belongs to."),
    external_id: str | None = Query(None, min_length=1, max_length=255, description="The device's id in an RMM."),
    cursor: str | None = Cursor, limit: int = Limit,
) -> dict[str, Any]:
    """Assets with their field values and external references, filtered by any of the parameters."""
    require(request, "view")
    queryset = Asset.objects.select_related("asset_type")
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if site is not None:
        queryset = queryset.filter(site_id=site)
    if asset_type is not None:
        queryset = queryset.filter(asset_type_id=asset_type)
    if active is not None:
        queryset = queryset.filter(active=active)
    if serial:
        queryset = queryset.filter(values__serial_number__iexact=serial.strip())
    if hostname:
        name = hostname.strip()
        queryset = queryset.filter(Q(name__iexact=name) | Q(values__hostname__iexact=name))
    if external_id:
        refs = ExternalRef.objects.filter(kind=RefKind.ASSET, external_id=external_id.strip())
        if integration is not None:
            refs = refs.filter(integration_id=integration)
        queryset = queryset.filter(pk__in=refs.values("object_id"))
    elif integration is not None:
        queryset = queryset.filter(pk__in=ExternalRef.objects.filter(kind=RefKind.ASSET, integration_id=integration)
                                   .values("object_id"))
    return _page(queryset, cursor, limit, _assets)


@router.get("/assets/{asset_id}/", response=s.AssetOut, tags=["service desk"])
def get_asset(request: HttpRequest, asset_id: int) -> dict[str, Any]:
    require(request, "view")
    return _assets([_get(Asset, asset_id, "asset", Asset.objects.select_related("asset_type"))])[0]


# Tickets -----------------------------------------------------------------------------------------------


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


TicketStatusParam = Literal["new", "open", "on_hold", "closed"]
EventStatusParam = Literal["pending", "processed", "duplicate", "unmatched", "rejected", "error"]
TicketSourceParam = Literal["email", "webhook", "poll", "manual"]
assert set(TicketStatusParam.__args__) == set(TicketStatus.values)  # type: ignore[attr-defined]
assert set(TicketSourceParam.__args__) == set(TicketSource.values)  # type: ignore[attr-defined]
assert set(EventStatusParam.__args__) == set(EventStatus.values)  # type: ignore[attr-defined]


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
    return _page(queryset, cursor, limit, _tickets)


def _ticket(pk: int) -> Ticket:
    return _get(Ticket, pk, "ticket", Ticket.objects.select_related("ticket_type", "assigned_to"))


@router.get("/tickets/{ticket_id}/", response=s.TicketOut, tags=["tickets"])
def get_ticket(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    require(request, "view")
    return _tickets([_ticket(ticket_id)])[0]


@router.post("/tickets/", response={201: s.TicketOut}, tags=["tickets"])
def open_ticket(request: HttpRequest, payload: s.TicketIn) -> Status[dict[str, Any]]:
    """Open a ticket (source manual, audited as API); site, user and assets must belong to the customer."""
    who = require(request, "tickets.write")
    customer = _ref_body("customer_id", payload.customer_id, Customer, "customer")
    if payload.ticket_type_id is None:
        ticket_type = TicketType.objects.filter(active=True).first()
        if ticket_type is None:
            raise ApiProblem(422, "ticket_type_id: there is no active ticket type; create one first.")
    else:
        ticket_type = _ref_body("ticket_type_id", payload.ticket_type_id, TicketType, "ticket type")
    assets = list(Asset.objects.filter(pk__in=payload.asset_ids))
    missing = sorted(set(payload.asset_ids) - {a.pk for a in assets})
    if missing:
        raise ApiProblem(422, f"asset_ids: no asset with id {missing[0]}.",
                         errors=[{"field": "asset_ids", "message": f"not found: {missing}"}])
    ticket = ticket_actions.do_open_ticket(
        who.actor, summary=payload.summary, details=payload.details, ticket_type=ticket_type, customer=customer,
        site=_ref_body("site_id", payload.site_id, Site, "site"),
        end_user=_ref_body("end_user_id", payload.end_user_id, EndUser, "user"),
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


# Integrations, jobs, sync runs, alert events --------------------------------------------------------------


def _integrations(rows: list[Integration]) -> list[dict[str, Any]]:
    return [{"id": i.pk, "vendor": i.vendor, "vendor_name": i.vendor_name, "name": i.name, "enabled": i.enabled,
             "status": i.status, "last_error": i.last_error, "last_tested_at": i.last_tested_at,
             "account_name": i.account_name} for i in rows]


@router.get("/integrations/", response=s.IntegrationPage, tags=["integrations"])
def list_integrations(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """Integrations and their status (credentials are never shown)."""
    require(request, "view")
    return _page(Integration.objects.all(), cursor, limit, _integrations)


@router.get("/integrations/{integration_id}/", response=s.IntegrationOut, tags=["integrations"])
def get_integration(request: HttpRequest, integration_id: int) -> dict[str, Any]:
    require(request, "view")
    return _integrations([_get(Integration, integration_id, "integration")])[0]


@router.post("/integrations/{integration_id}/test/", response=s.TestResultOut, tags=["integrations"])
def test_integration(request: HttpRequest, integration_id: int) -> dict[str, Any]:
    """Test the stored credentials against the RMM now (the integration's status follows the result)."""
    who = require(request, "integrations.test")
    integration = _get(Integration, integration_id, "integration")
    result = do_test_integration(who.actor, integration)
    integration.refresh_from_db()
    return {"ok": result.ok, "message": result.message, "error_key": result.error_key,
            "account_name": result.account.display_name if result.account else None, "status": integration.status}


def _jobs(rows: list[JobRun]) -> list[dict[str, Any]]:
    return [{"id": j.pk, "kind": j.kind, "integration_id": j.integration_id, "status": j.status,
             "trigger": j.trigger, "entities": j.entity_list, "progress": j.progress, "items": j.items,
             "attempts": j.attempts, "error": j.error, "sync_run_id": j.sync_run_id, "details": dict(j.details or {}),
             "created_at": j.created_at, "started_at": j.started_at, "finished_at": j.finished_at} for j in rows]


@router.post("/integrations/{integration_id}/jobs/", response={202: s.JobOut}, tags=["integrations"])
def start_job(request: HttpRequest, integration_id: int, payload: s.JobIn) -> Status[dict[str, Any]]:
    """Queue a sync (a preview with dry_run) or an alert poll on the workers; follow it at /jobs/{id}/."""
    who = require(request, "integrations.run")
    integration = _get(Integration, integration_id, "integration")
    if not integration.enabled:
        raise ApiProblem(422, f"Integration '{integration.name}' is disabled; enable it before running jobs.")
    options: dict[str, Any] = {"user_id": who.user.pk, "actor_label": f"API: {who.user.get_username()}"}
    if payload.kind == "sync":
        options["dry_run"] = payload.dry_run
        job = trigger_now(integration, JobKind.SYNC, list(payload.entities or []) or None, options)
    else:
        job = trigger_now(integration, JobKind.POLL, None, options)
    return Status(202, _jobs([job])[0])


@router.get("/jobs/{job_id}/", response=s.JobOut, tags=["integrations"])
def get_job(request: HttpRequest, job_id: int) -> dict[str, Any]:
    """A job's progress: status, what it is doing now, items done, and the sync run it produced."""
    require(request, "view")
    return _jobs([_get(JobRun, job_id, "job")])[0]


@router.get("/sync-runs/", response=s.SyncRunPage, tags=["sync"])
def list_sync_runs(request: HttpRequest, integration: int | None = PositiveId, cursor: str | None = Cursor,
                   limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    queryset = SyncRun.objects.all()
    if integration is not None:
        queryset = queryset.filter(integration_id=integration)
    return _page(queryset, cursor, limit)


@router.get("/sync-runs/{run_id}/", response=s.SyncRunOut, tags=["sync"])
def get_sync_run(request: HttpRequest, run_id: int) -> Any:
    require(request, "view")
    return _get(SyncRun, run_id, "sync run")


@router.get("/sync-runs/{run_id}/rows/", response=s.SyncRowPage, tags=["sync"])
def list_sync_rows(request: HttpRequest, run_id: int, cursor: str | None = Cursor,
                   limit: int = Limit) -> dict[str, Any]:
    """The run's planned operations, each with its reason, status and error."""
    require(request, "view")
    run = _get(SyncRun, run_id, "sync run")
    return _page(SyncPlanRow.objects.filter(run=run), cursor, limit)


@router.get("/alert-events/", response=s.AlertEventPage, tags=["alerts"])
def list_alert_events(request: HttpRequest, integration: int | None = PositiveId,
                      status: EventStatusParam | None = None, cursor: str | None = Cursor,
                      limit: int = Limit) -> dict[str, Any]:
    """Alert events as received (e-mail, webhook, poll), with what processing made of them."""
    require(request, "view")
    queryset = AlertEvent.objects.defer("raw")
    if integration is not None:
        queryset = queryset.filter(integration_id=integration)
    if status:
        queryset = queryset.filter(status=status)
    return _page(queryset, cursor, limit)
