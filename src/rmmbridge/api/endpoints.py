"""The REST API's resources: service-desk objects, integrations, jobs, sync runs, alert events (tickets apart)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.http import HttpRequest
from ninja import Query, Router, Status

from rmmbridge.alerts.models import AlertEvent
from rmmbridge.api import schemas as s
from rmmbridge.api import ticket_endpoints
from rmmbridge.api.auth import require
from rmmbridge.api.lookups import Cursor, EventStatusParam, Limit, PositiveId, get_or_404, page_of
from rmmbridge.api.problems import ApiProblem
from rmmbridge.integrations.actions import do_test_integration
from rmmbridge.integrations.models import ExternalRef, Integration, RefKind
from rmmbridge.integrator.dispatch import trigger_now
from rmmbridge.integrator.models import JobKind, JobRun
from rmmbridge.servicedesk.models import Asset, AssetType, Customer, EndUser, FieldDefinition, Site
from rmmbridge.sync.models import SyncPlanRow, SyncRun

router = Router()
router.add_router("", ticket_endpoints.router)


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
    return page_of(queryset, cursor, limit)


@router.get("/customers/{customer_id}/", response=s.CustomerOut, tags=["service desk"])
def get_customer(request: HttpRequest, customer_id: int) -> Any:
    require(request, "view")
    return get_or_404(Customer, customer_id, "customer")


@router.get("/sites/", response=s.SitePage, tags=["service desk"])
def list_sites(request: HttpRequest, customer: int | None = PositiveId, active: bool | None = None,
               cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    queryset = Site.objects.all()
    if customer is not None:
        queryset = queryset.filter(customer_id=customer)
    if active is not None:
        queryset = queryset.filter(active=active)
    return page_of(queryset, cursor, limit)


@router.get("/sites/{site_id}/", response=s.SiteOut, tags=["service desk"])
def get_site(request: HttpRequest, site_id: int) -> Any:
    require(request, "view")
    return get_or_404(Site, site_id, "site")


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
    return page_of(queryset, cursor, limit)


@router.get("/users/{user_id}/", response=s.EndUserOut, tags=["service desk"])
def get_user(request: HttpRequest, user_id: int) -> Any:
    require(request, "view")
    return get_or_404(EndUser, user_id, "user")


def _asset_types(rows: list[AssetType]) -> list[dict[str, Any]]:
    return [{"id": t.pk, "name": t.name, "group_id": t.group_id, "group": t.group.name} for t in rows]


@router.get("/asset-types/", response=s.AssetTypePage, tags=["service desk"])
def list_asset_types(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    return page_of(AssetType.objects.select_related("group"), cursor, limit, _asset_types)


def _fields(rows: list[FieldDefinition]) -> list[dict[str, Any]]:
    return [{"id": f.pk, "key": f.key, "name": f.name, "label": f.label, "kind": f.kind, "data_type": f.data_type,
             "choices": list(f.choices or []), "asset_type_ids": [t.pk for t in f.asset_types.all()]} for f in rows]


@router.get("/fields/", response=s.FieldPage, tags=["service desk"])
def list_fields(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """Asset fields and custom fields; an asset's `values` are keyed by each field's `key`."""
    require(request, "view")
    return page_of(FieldDefinition.objects.prefetch_related("asset_types"), cursor, limit, _fields)


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
    return page_of(queryset, cursor, limit, _assets)


@router.get("/assets/{asset_id}/", response=s.AssetOut, tags=["service desk"])
def get_asset(request: HttpRequest, asset_id: int) -> dict[str, Any]:
    require(request, "view")
    return _assets([get_or_404(Asset, asset_id, "asset", Asset.objects.select_related("asset_type"))])[0]


# Integrations, jobs, sync runs, alert events --------------------------------------------------------------


def _integrations(rows: list[Integration]) -> list[dict[str, Any]]:
    return [{"id": i.pk, "vendor": i.vendor, "vendor_name": i.vendor_name, "name": i.name, "enabled": i.enabled,
             "status": i.status, "last_error": i.last_error, "last_tested_at": i.last_tested_at,
             "account_name": i.account_name} for i in rows]


@router.get("/integrations/", response=s.IntegrationPage, tags=["integrations"])
def list_integrations(request: HttpRequest, cursor: str | None = Cursor, limit: int = Limit) -> dict[str, Any]:
    """Integrations and their status (credentials are never shown)."""
    require(request, "view")
    return page_of(Integration.objects.all(), cursor, limit, _integrations)


@router.get("/integrations/{integration_id}/", response=s.IntegrationOut, tags=["integrations"])
def get_integration(request: HttpRequest, integration_id: int) -> dict[str, Any]:
    require(request, "view")
    return _integrations([get_or_404(Integration, integration_id, "integration")])[0]


@router.post("/integrations/{integration_id}/test/", response=s.TestResultOut, tags=["integrations"])
def test_integration(request: HttpRequest, integration_id: int) -> dict[str, Any]:
    """Test the stored credentials against the RMM now (the integration's status follows the result)."""
    who = require(request, "integrations.test")
    integration = get_or_404(Integration, integration_id, "integration")
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
    integration = get_or_404(Integration, integration_id, "integration")
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
    return _jobs([get_or_404(JobRun, job_id, "job")])[0]


@router.get("/sync-runs/", response=s.SyncRunPage, tags=["sync"])
def list_sync_runs(request: HttpRequest, integration: int | None = PositiveId, cursor: str | None = Cursor,
                   limit: int = Limit) -> dict[str, Any]:
    require(request, "view")
    queryset = SyncRun.objects.all()
    if integration is not None:
        queryset = queryset.filter(integration_id=integration)
    return page_of(queryset, cursor, limit)


@router.get("/sync-runs/{run_id}/", response=s.SyncRunOut, tags=["sync"])
def get_sync_run(request: HttpRequest, run_id: int) -> Any:
    require(request, "view")
    return get_or_404(SyncRun, run_id, "sync run")


@router.get("/sync-runs/{run_id}/rows/", response=s.SyncRowPage, tags=["sync"])
def list_sync_rows(request: HttpRequest, run_id: int, cursor: str | None = Cursor,
                   limit: int = Limit) -> dict[str, Any]:
    """The run's planned operations, each with its reason, status and error."""
    require(request, "view")
    run = get_or_404(SyncRun, run_id, "sync run")
    return page_of(SyncPlanRow.objects.filter(run=run), cursor, limit)


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
    return page_of(queryset, cursor, limit)
