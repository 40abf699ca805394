"""Pydantic models of the Atera API v3 payloads we read (PascalCase field names and types as in the OpenAPI spec)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AteraModel(BaseModel):
    """Base: unknown fields are kept (flattened into record fields); names are the API's own."""

    model_config = ConfigDict(extra="allow", frozen=True)


class ProblemDetails(AteraModel):
    """Spec `ProblemDetails`: the error body of 400/404/409 answers (RFC 7807)."""

    type: str | None = None
    title: str | None = None
    status: int | None = None
    detail: str | None = None
    instance: str | None = None


class PagedResult(AteraModel):
    """Spec `*PagedResult`: one page of a list (`page` is 1-based; `nextLink` empty on the last page)."""

    items: list[Any] | None = None
    page: int = 1
    itemsInPage: int = 0
    totalItemCount: int = 0
    totalPages: int = 0
    prevLink: str | None = None
    nextLink: str | None = None


class AccountInfoResponse(AteraModel):
    """Spec `AccountInfoResponse` (`GET /api/v3/account`)."""

    AccountID: str | None = None
    CompanyName: str | None = None
    Plan: str | None = None
    TimeZoneName: str | None = None
    Country: str | None = None


class Customer(AteraModel):
    """Spec `CustomerDto`."""

    CustomerID: int
    CustomerName: str = Field(min_length=1)
    CreatedOn: str | None = None
    LastModified: str | None = None
    Domain: str | None = None
    Phone: str | None = None


class Contact(AteraModel):
    """Spec `ContactDto` (an end user of a customer)."""

    EndUserID: int
    CustomerID: int | None = None
    CustomerName: str | None = None
    Firstname: str | None = None
    Lastname: str | None = None
    Email: str | None = None
    Phone: str | None = None
    IsContactPerson: bool | None = None
    Archived: bool | None = None


class Battery(AteraModel):
    """Spec `BatteryDto` (present on agents with a battery)."""

    Id: int | None = None
    Name: str | None = None
    DesignedCapacity: int | None = None
    FullChargeCapacity: int | None = None


class Agent(AteraModel):
    """Spec `AgentDto`: a device running the Atera agent."""

    AgentID: int
    MachineID: str | None = None
    DeviceGuid: str | None = None
    CustomerID: int | None = None
    CustomerName: str | None = None
    FolderID: int | None = None
    FolderName: str | None = None
    AgentName: str | None = None
    SystemName: str | None = None
    MachineName: str | None = None
    DomainName: str | None = None
    CurrentLoggedUsers: str | None = None
    LastLoginUser: str | None = None
    Online: bool | None = None
    LastSeen: str | None = None
    Created: str | None = None
    Modified: str | None = None
    ReportedFromIP: str | None = None
    IpAddresses: list[str] | None = None
    MacAddresses: list[str] | None = None
    OS: str | None = None
    OSType: str | None = None
    Vendor: str | None = None
    VendorSerialNumber: str | None = None
    VendorBrandModel: str | None = None
    ProductName: str | None = None
    WindowsSerialNumber: str | None = None
    BatteryInfo: Battery | None = None
    DeviceType: str | None = None


class SnmpDevice(AteraModel):
    """Spec `SnmpDeviceDto`: an agentless SNMP device (printer, switch, firewall) watched by a monitoring agent."""

    DeviceID: int
    DeviceGuid: str | None = None
    Name: str | None = None
    Hostname: str | None = None
    CustomerID: int | None = None
    CustomerName: str | None = None
    FolderID: int | None = None
    Online: bool | None = None
    Type: str | None = None
    Model: str | None = None
    MonitoringAgentID: int | None = None


class Alert(AteraModel):
    """Spec `AlertDto`. Resolved alerts are `Archived` with an `ArchivedDate`."""

    AlertID: int
    Code: int | None = None
    Source: str | None = None
    Title: str | None = None
    Severity: str | None = None
    Created: str | None = None
    SnoozedEndDate: str | None = None
    DeviceGuid: str | None = None
    AgentId: int | None = None
    AdditionalInfo: str | None = None
    Archived: bool | None = None
    AlertCategoryID: str | None = None
    ArchivedDate: str | None = None
    TicketID: int | None = None
    AlertMessage: str | None = None
    DeviceName: str | None = None
    CustomerID: int | None = None
    CustomerName: str | None = None
    FolderID: int | None = None
