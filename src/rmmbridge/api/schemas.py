"""Request and response schemas of the REST API (pydantic v2 through Django Ninja)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Schema
from pydantic import Field


class CustomerOut(Schema):
    id: int
    name: str
    active: bool
    toplevel_id: int | None
    notes: str
    created_at: datetime
    updated_at: datetime


class SiteOut(Schema):
    id: int
    customer_id: int
    name: str
    is_main: bool
    active: bool
    address: str


class EndUserOut(Schema):
    id: int
    customer_id: int
    site_id: int
    name: str
    email: str
    phone: str
    active: bool


class AssetTypeOut(Schema):
    id: int
    name: str
    group_id: int
    group: str


class FieldOut(Schema):
    id: int
    key: str
    name: str
    label: str
    kind: str
    data_type: str
    choices: list[Any]
    asset_type_ids: list[int]


class ExternalRefOut(Schema):
    integration_id: int
    integration: str
    external_id: str
    last_seen: datetime
    missing_since: datetime | None


class AssetOut(Schema):
    id: int
    name: str
    asset_tag: str
    asset_type_id: int
    asset_type: str
    customer_id: int
    site_id: int
    end_user_id: int | None
    parent_id: int | None
    active: bool
    values: dict[str, Any]
    external_refs: list[ExternalRefOut]
    created_at: datetime
    updated_at: datetime


class TicketOut(Schema):
    id: int
    summary: str
    details: str
    status: str
    priority: int
    ticket_type_id: int
    ticket_type: str
    customer_id: int
    site_id: int | None
    end_user_id: int | None
    asset_ids: list[int]
    source: str
    alert_key: str
    occurrences: int
    flapping: bool = Field(False, description="Noise control: the alert's condition flapped; this one ticket "
                                              "counts its occurrences.")
    assigned_to: str | None = Field(None, description="Username of the staff user the ticket is assigned to.")
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class TicketIn(Schema):
    summary: str = Field(min_length=1, max_length=255)
    details: str = ""
    customer_id: int
    ticket_type_id: int | None = Field(None, description="Defaults to the first active ticket type.")
    site_id: int | None = None
    end_user_id: int | None = None
    asset_ids: list[int] = Field(default_factory=list, max_length=100)
    priority: int | None = Field(None, ge=1, le=4)
    assigned_to: str | None = Field(None, max_length=150,
                                    description="Username of an active staff user to assign the ticket to.")


class AssignIn(Schema):
    assigned_to: str | None = Field(..., max_length=150,
                                    description="Username of an active staff user; null unassigns the ticket.")


class NoteIn(Schema):
    text: str = Field(min_length=1, max_length=20000)


class CloseIn(Schema):
    note: str = Field("", max_length=20000)


class NoteOut(Schema):
    id: int
    ticket_id: int
    kind: str
    text: str
    at: datetime


class IntegrationOut(Schema):
    id: int
    vendor: str
    vendor_name: str
    name: str
    enabled: bool
    status: str
    last_error: str
    last_tested_at: datetime | None
    account_name: str


class TestResultOut(Schema):
    ok: bool
    message: str
    error_key: str | None
    account_name: str | None
    status: str


class JobIn(Schema):
    kind: Literal["sync", "poll"]
    entities: list[Literal["customers", "sites", "users", "assets"]] | None = Field(
        None, description="Sync only: the entities to sync (default: all).")
    dry_run: bool = Field(False, description="Sync only: prepare a preview instead of writing.")


class JobOut(Schema):
    id: int
    kind: str
    integration_id: int | None
    status: str
    trigger: str
    entities: list[str]
    progress: str
    items: int
    attempts: int
    error: str
    sync_run_id: int | None
    details: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SyncRunOut(Schema):
    id: int
    integration_id: int
    trigger: str
    actor_label: str
    entities: list[Any]
    dry_run: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    errors: list[Any]
    warnings: list[Any]
    message: str


class SyncRowOut(Schema):
    id: int
    position: int
    entity: str
    kind: str
    external_id: str
    label: str
    reason: str
    status: str
    error: str
    op: dict[str, Any]


class AlertEventOut(Schema):
    id: int
    channel: str
    integration_id: int | None
    received_at: datetime
    summary: str
    status: str
    reason: str
    alert_key: str
    ticket_id: int | None
    processed_at: datetime | None


def page_schema(name: str, item: type[Schema]) -> type[Schema]:
    """A page of `item`s with the cursor of the next page."""
    return type(name, (Schema,), {"__annotations__": {"items": list[item], "next_cursor": str | None}})  # type: ignore[valid-type]


CustomerPage = page_schema("CustomerPage", CustomerOut)
SitePage = page_schema("SitePage", SiteOut)
EndUserPage = page_schema("EndUserPage", EndUserOut)
AssetTypePage = page_schema("AssetTypePage", AssetTypeOut)
FieldPage = page_schema("FieldPage", FieldOut)
AssetPage = page_schema("AssetPage", AssetOut)
TicketPage = page_schema("TicketPage", TicketOut)
IntegrationPage = page_schema("IntegrationPage", IntegrationOut)
SyncRunPage = page_schema("SyncRunPage", SyncRunOut)
SyncRowPage = page_schema("SyncRowPage", SyncRowOut)
AlertEventPage = page_schema("AlertEventPage", AlertEventOut)
