"""Pydantic models of the Datto RMM v2 payloads we read (field names exactly as the API spells them)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, StrictStr


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class DeviceType(_Model):
    category: str | None = None
    type: str | None = None


class Device(_Model):
    """`Device` in the spec; timestamps are epoch milliseconds in practice."""

    id: int | None = None
    uid: StrictStr
    siteId: int | None = None
    siteUid: StrictStr | None = None
    siteName: str | None = None
    deviceType: DeviceType | None = None
    hostname: StrictStr
    intIpAddress: str | None = None
    extIpAddress: str | None = None
    operatingSystem: str | None = None
    lastLoggedInUser: str | None = None
    description: str | None = None
    online: bool | None = None
    deleted: bool | None = None
    lastSeen: int | str | None = None
    deviceClass: str | None = None
    udf: dict[str, Any] | None = None


class Site(_Model):
    id: int | None = None
    uid: StrictStr
    name: StrictStr
    accountUid: str | None = None
    description: str | None = None


class AlertSourceInfo(_Model):
    deviceUid: str | None = None
    deviceName: str | None = None
    siteUid: str | None = None
    siteName: str | None = None


class Alert(_Model):
    alertUid: StrictStr
    priority: str | None = None
    diagnostics: str | None = None
    resolved: bool | None = None
    resolvedBy: str | None = None
    resolvedOn: int | str | None = None
    timestamp: int | str | None = None
    alertContext: dict[str, Any] | None = None
    alertSourceInfo: AlertSourceInfo | None = None


class Account(_Model):
    id: int | None = None
    uid: StrictStr
    name: str | None = None
    currency: str | None = None
