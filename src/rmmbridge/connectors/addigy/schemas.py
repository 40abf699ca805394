"""Pydantic models of the Addigy API v2 payloads we read, and of the AddigyAlert webhook body (names as the API's)."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


class AddigyModel(BaseModel):
    """Base: unknown fields are kept (they are flattened into record fields); names are the API's snake_case."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Fact(AddigyModel):
    """One device fact: `{"type": "string|number|boolean|list|date", "value": …, "error_msg": …}`."""

    type: str | None = None
    value: Any = None
    error_msg: str | None = None


class DeviceAudit(AddigyModel):
    """An item of `POST /api/v2/devices`: the agent id, organization, audit dates and the requested facts.

    pliancy/addigy-node names the id `agentid`; bart-lute/addigy-client-go names it `agent_id`: both are read.
    """

    agentid: str = Field(min_length=1, validation_alias=AliasChoices("agentid", "agent_id"))
    orgid: str | None = None
    audit_date: str | None = None
    agent_audit_date: str | None = None
    facts: dict[str, Fact] = Field(default_factory=dict)


class PageMetadata(AddigyModel):
    """`metadata` of every v2 list: page (1-based), per_page, page_count, result_count, total."""

    page: int | None = None
    per_page: int | None = None
    page_count: int | None = None
    result_count: int | None = None
    total: int | None = None


class Page(AddigyModel):
    """A v2 list page: `{"items": [...], "metadata": {...}}`."""

    items: list[Any] = Field(default_factory=list)
    metadata: PageMetadata = Field(default_factory=PageMetadata)


class WhoAmI(AddigyModel):
    """`GET /configuration/whoami`: the organization the API key belongs to."""

    organization_id: str = Field(min_length=1, validation_alias=AliasChoices("organization_id", "orgid"))
    name: str | None = None


class Policy(AddigyModel):
    """An item of `POST /api/v2/oa/policies/query`; `parent` is the parent policy id ('' or null at the top)."""

    policyId: str = Field(min_length=1)
    name: str = Field(min_length=1)
    orgid: str | None = None
    parent: str | None = None
    color: str | None = None
    icon: str | None = None
    creation_time: float | None = None


class AddigyAlert(AddigyModel):
    """An Addigy alert: the object Halo's `POST /api/Notify/Addigy` takes (`_id`, `agentid`, epoch `created_on`) and
    the items of the v2 list `POST /oa/monitoring/alerts/query` (`id`, `agent_id`, `created_date`, `muted`,
    `ticket_id` – a number on old alerts)."""

    id: str | int = Field(default="", validation_alias=AliasChoices("_id", "id"))
    agentid: str | None = Field(default=None, validation_alias=AliasChoices("agentid", "agent_id"))
    orgid: str | None = None
    name: str | None = None
    category: str | None = None
    level: str | None = None
    status: str | None = None
    fact: str | None = None
    fact_name: str | None = None
    fact_identifier: str | None = None
    selector: str | None = None
    value: Any = None
    valuetype: str | None = None
    created_on: float | None = None
    created_date: str | float | None = None
    resolveddate: float | str | None = Field(default=None, validation_alias=AliasChoices("resolveddate",
                                                                                       "resolved_date"))
    resolveduseremail: str | None = None
    remtime: int | None = None
    emails: list[str] | None = None
