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


#: Org-unit ids are strings in N-central's own OpenAPI document (example "100") and ints in some clients: both read.
AnyId = int | str


class ServiceOrg(NcentralModel):
    """`GET /api/service-orgs` item."""

    soId: AnyId
    soName: str | None = None
    parentId: int | str | None = None


class Customer(NcentralModel):
    """`GET /api/customers` item (a customer org unit under a service organization)."""

    customerId: AnyId
    customerName: str = Field(min_length=1)
    parentId: int | str | None = None
    orgUnitType: str | None = None
    externalId: str | None = None
    externalId2: str | None = None


class Site(NcentralModel):
    """`GET /api/sites` item (a site org unit under a customer: `parentId` is the customer)."""

    siteId: AnyId
    siteName: str = Field(min_length=1)
    parentId: int | str | None = None
    externalId: str | None = None


class Device(NcentralModel):
    """`GET /api/devices` item.

    `stillLoggedIn` is a string in the server's OpenAPI document (example `""`) and a boolean in older clients;
    `deviceStatus` is an object (`{state, status}`) in the document. Both are read loosely by normalize.py.
    """

    deviceId: int  # an int32 in the document; numeric strings are read too (pydantic's lax mode)
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
    stillLoggedIn: str | bool | None = None
    licenseMode: str | None = None
    orgUnitId: AnyId | None = None
    soId: AnyId | None = None
    soName: str | None = None
    customerId: AnyId | None = None
    customerName: str | None = None
    siteId: AnyId | None = None
    siteName: str | None = None
    applianceId: AnyId | None = None
    lastApplianceCheckinTime: str | None = None
    deviceStatus: Any = None


class ActiveIssue(NcentralModel):
    """`GET /api/org-units/{orgUnitId}/active-issues` item; details under `_extra`."""

    orgUnitId: AnyId | None = None
    deviceId: int  # an int32 in the document; numeric strings are read too (pydantic's lax mode)
    notificationState: int | None = None
    serviceId: int | None = None
    serviceName: str | None = None
    serviceType: str | None = None
    taskId: int
    serviceItemId: int | None = None
    extra_info: dict[str, Any] | None = Field(default=None, alias="_extra")
