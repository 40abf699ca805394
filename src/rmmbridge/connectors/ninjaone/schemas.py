"""Pydantic models of the NinjaOne Public API 2.0 payloads we read (field names and types as in the OpenAPI spec)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NinjaModel(BaseModel):
    """Base: unknown fields are kept (they are flattened into RemoteDevice.fields), names are the API's camelCase."""

    model_config = ConfigDict(extra="allow", frozen=True)


class TokenResponse(NinjaModel):
    """`POST /ws/oauth/token` success body."""

    access_token: str = Field(min_length=1)
    token_type: str = "Bearer"
    expires_in: float | None = None
    scope: str | None = None


class OAuthError(NinjaModel):
    """OAuth error body (`{"error": "invalid_client", "error_description": ...}`); API 401s add `error_code`."""

    error: str
    error_description: str | None = None
    error_code: int | None = None


class ApiError(NinjaModel):
    """Error body of the /v2 API (`resultCode`, `errorMessage`, `incidentId`)."""

    resultCode: str | None = None
    errorMessage: str | None = None
    incidentId: str | None = None


class Organization(NinjaModel):
    """Spec `Organization` (brief mode of `GET /v2/organizations`)."""

    id: int
    name: str
    description: str | None = None
    nodeApprovalMode: str | None = None
    userData: dict[str, Any] | None = None


class Location(NinjaModel):
    """Spec `LocationWithOrganizationRef` (`GET /v2/locations`) or `Location` (per organization)."""

    id: int
    name: str
    organizationId: int | None = None
    address: str | None = None
    description: str | None = None
    userData: dict[str, Any] | None = None


class OperatingSystem(NinjaModel):
    """Spec `OperatingSystem` (on detailed agent devices)."""

    manufacturer: str | None = None
    name: str | None = None
    architecture: str | None = None
    buildNumber: str | None = None
    releaseId: str | None = None
    lastBootTime: float | None = None
    needsReboot: bool | None = None


class ComputerSystem(NinjaModel):
    """Spec `ComputerSystem` (chassis) on detailed agent devices."""

    name: str | None = None
    manufacturer: str | None = None
    model: str | None = None
    serialNumber: str | None = None
    biosSerialNumber: str | None = None
    assetSerialNumber: str | None = None
    domain: str | None = None
    chassisType: str | None = None
    virtualMachine: bool | None = None


class Device(NinjaModel):
    """Spec `Device` and its detailed sub-types (`AgentDevice`, `VMHost`, `VMGuest`, NMS targets …).

    Only `id` is required; lists the real API sends as null (ipAddresses, macAddresses, tags) read as empty.
    """

    id: int
    uid: str | None = None
    organizationId: int | None = None
    locationId: int | None = None
    parentDeviceId: int | None = None
    nodeClass: str = ""
    approvalStatus: str | None = None
    offline: bool | None = None
    displayName: str | None = None
    systemName: str | None = None
    dnsName: str | None = None
    netbiosName: str | None = None
    created: float | None = None
    lastContact: float | None = None
    lastUpdate: float | None = None
    ipAddresses: list[str] = Field(default_factory=list)
    macAddresses: list[str] = Field(default_factory=list)
    publicIP: str | None = None
    tags: list[str] = Field(default_factory=list)
    os: OperatingSystem | None = None
    system: ComputerSystem | None = None
    lastLoggedInUser: str | None = None
    # VMHost / VMGuest extras
    vendor: str | None = None
    model: str | None = None
    serviceTag: str | None = None
    releaseName: str | None = None
    guestOSFullName: str | None = None
    name: str | None = None


class User(NinjaModel):
    """Spec `User` (`GET /v2/users?userType=END_USER`)."""

    id: int
    uid: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    email: str | None = None
    phone: str | None = None
    enabled: bool | None = None
    userType: str | None = None
    organizationId: int | None = None


class Alert(NinjaModel):
    """Spec `Alert` (`GET /v2/alerts`: active, triggered conditions); `uid` is the activity series UID."""

    uid: str = Field(min_length=1)
    deviceId: int | None = None
    message: str | None = None
    createTime: float | None = None
    updateTime: float | None = None
    sourceType: str | None = None
    sourceConfigUid: str | None = None
    sourceName: str | None = None
    subject: str | None = None
    severity: str | None = None
    priority: str | None = None
    conditionName: str | None = None
    conditionHealthStatus: str | None = None
    data: dict[str, Any] | None = None
    device: dict[str, Any] | None = None


class Activity(NinjaModel):
    """Spec `Activity` — also the shape of API webhook payloads (`PUT /v2/webhook`).

    Webhook senders vary a little (`activityId` for `id`, a status only in `status`, `activityTime` as a string),
    so only the fields needed to recognise an activity are checked here; see normalize.activity_to_alert.
    """

    id: int | None = None
    activityId: int | None = None
    activityTime: float | str | None = None
    deviceId: int | None = None
    severity: str | None = None
    priority: str | None = None
    seriesUid: str | None = None
    activityType: str | None = None
    statusCode: str | None = None
    status: str | None = None
    activityResult: str | None = None
    sourceConfigUid: str | None = None
    sourceName: str | None = None
    subject: str | None = None
    userId: int | None = None
    message: str | None = None
    type: str | None = None
    data: dict[str, Any] | None = None
    device: dict[str, Any] | None = None


class ActivitiesResponse(NinjaModel):
    """Spec `ActivitiesResponse` (`GET /v2/activities`)."""

    lastActivityId: int | None = None
    activities: list[dict[str, Any]] = Field(default_factory=list)
