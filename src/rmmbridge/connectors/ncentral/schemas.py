"""Pydantic models of the N-central REST payloads we read (names as the API spells them; unknown fields kept)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NcentralModel(BaseModel):
    """Base: unknown fields are kept (flattened into `fields`), names are the API's camelCase."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)


class Token(NcentralModel):
    """One token of the authenticate/refresh answer (`type` is "Bearer" for access, "Body" for refresh)."""

    token: str = Field(min_length=1)
    type: str | None = None
    expirySeconds: float | None = None


class TokenPair(NcentralModel):
    access: Token
    refresh: Token | None = None


class AuthResponse(NcentralModel):
    """`POST /api/auth/authenticate` (and `/api/auth/refresh`) success body."""

    tokens: TokenPair


class Page(NcentralModel):
    """The list envelope: `data` plus page numbers and totals (`_links` kept as an extra field)."""

    data: list[Any]
    pageNumber: int | None = None
    pageSize: int | None = None
    itemCount: int | None = None
    totalItems: int | None = None
    totalPages: int | None = None


class ServiceOrg(NcentralModel):
    """`GET /api/service-orgs` item."""

    soId: int
    soName: str | None = None
    parentId: int | str | None = None


class Customer(NcentralModel):
    """`GET /api/customers` item (a customer org unit under a service organization)."""

    customerId: int
    customerName: str = Field(min_length=1)
    parentId: int | str | None = None
    orgUnitType: str | None = None
    externalId: str | None = None
    externalId2: str | None = None


class Site(NcentralModel):
    """`GET /api/sites` item (a site org unit under a customer: `parentId` is the customer)."""

    siteId: int
    siteName: str = Field(min_length=1)
    parentId: int | str | None = None
    externalId: str | None = None


class Device(NcentralModel):
    """`GET /api/devices` item."""

    deviceId: int
    longName: str = Field(min_length=1)
    discoveredName: str | None = None
    deviceClass: str | None = None
    deviceClassLabel: str | None = None
    description: str | None = None
    isProbe: bool | None = None
    osId: str | None = None
    supportedOs: str | None = None
    supportedOsLabel: str | None = None
    lastLoggedInUser: str | None = None
    stillLoggedIn: bool | None = None
    licenseMode: str | None = None
    orgUnitId: int | None = None
    soId: int | None = None
    soName: str | None = None
    customerId: int | None = None
    customerName: str | None = None
    siteId: int | None = None
    siteName: str | None = None
    applianceId: int | None = None
    lastApplianceCheckinTime: str | None = None


class ActiveIssue(NcentralModel):
    """`GET /api/org-units/{orgUnitId}/active-issues` item; details under `_extra`."""

    orgUnitId: int | None = None
    deviceId: int
    notificationState: int | None = None
    serviceId: int | None = None
    serviceName: str | None = None
    serviceType: str | None = None
    taskId: int
    serviceItemId: int | None = None
    extra_info: dict[str, Any] | None = Field(default=None, alias="_extra")
