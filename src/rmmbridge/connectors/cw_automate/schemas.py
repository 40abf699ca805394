"""Pydantic models of the Automate REST payloads we read (names and types as in the Automate API v1 OpenAPI files).

The spec types some ids as strings (Computer, Client, Contact, NetworkDevice) and others as int32 (Location,
Alert); both are accepted everywhere and turned into strings by normalize.py. Unknown fields are kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

AnyId = int | str


class AutomateModel(BaseModel):
    """Base: extra fields allowed (they are flattened into `fields`), PascalCase names as the API sends them.

    The document marks nothing nullable, yet servers send `null` for empty lists (e.g. `LoggedInUsers`): every
    list field reads null as empty instead of dropping the record.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _null_list_is_empty(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name in _LIST_FIELDS.get(cls.__name__, ()):
            return []
        return value


class Ref(AutomateModel):
    """A nested reference such as `Client`, `Location`, `Computer`, `Severity` ({Id, Name, …})."""

    Id: AnyId | None = None
    Name: str | None = None


class TokenResult(AutomateModel):
    """`Automate.Api.Domain.Contracts.Security.TokenResult` (POST apitoken, POST apitoken/refresh)."""

    AccessToken: str | None = None
    TokenType: str | None = None
    ExpirationDate: str | None = None
    AbsoluteExpirationDate: str | None = None
    UserId: str | int | None = None
    InternalUserName: str | None = None
    IsTwoFactorRequired: bool | None = None
    IsInternalTwoFactorRequired: bool | None = None


class Client(AutomateModel):
    """`LabTech.Models.Client` (GET /Clients)."""

    Id: AnyId
    Name: str = Field(min_length=1)
    Company: str | None = None
    City: str | None = None
    State: str | None = None
    Country: str | None = None
    PhoneNumber: str | None = None
    ExternalId: str | int | None = None


class Location(AutomateModel):
    """`Automate.Api.Domain.Contracts.Clients.Location` (GET /Locations)."""

    Id: AnyId
    Name: str = Field(min_length=1)
    Client: Ref | None = None
    ProbeId: int | None = None
    City: str | None = None
    Country: str | None = None
    Router: LocationRouter | None = None


class Contact(AutomateModel):
    """`LabTech.Models.Contact` (GET /Contacts)."""

    Id: AnyId
    FirstName: str | None = None
    LastName: str | None = None
    Email: str | None = None
    PhoneNumber: str | None = None
    MobileNumber: str | None = None
    Client: Ref | None = None
    Location: Ref | None = None


class LoggedInUser(AutomateModel):
    """`LabTech.Models.LoggedInUser`."""

    LoggedInUserName: str | None = None
    ConsoleId: int | None = None


class Computer(AutomateModel):
    """`LabTech.Models.Computer` (GET /Computers) — the fields normalize.py reads; the rest stay in `fields`."""

    Id: AnyId
    ComputerName: str = Field(min_length=1)
    FriendlyName: str | None = None
    Client: Ref | None = None
    Location: Ref | None = None
    Type: str | None = None
    Status: str | None = None
    OperatingSystemName: str | None = None
    OperatingSystemVersion: str | None = None
    DomainName: str | None = None
    SerialNumber: str | None = None
    AssetTag: str | None = None
    BiosManufacturer: str | None = None
    MACAddress: str | None = None
    LocalIPAddress: str | None = None
    GatewayIPAddress: str | None = None
    LastUserName: str | None = None
    LoggedInUsers: list[LoggedInUser] = Field(default_factory=list)
    RemoteAgentLastContact: str | None = None
    LastHeartbeat: str | None = None
    DateAdded: str | None = None
    IsVirtualMachine: bool | None = None
    IsVirtualHost: bool | None = None
    IsNetworkProbe: bool | None = None


class LocationRouter(AutomateModel):
    """`LabTech.Models.Router`, a location's router (`Location.Router`): its `Guid` is its asset tag (Halo).

    `Username` and `Password` are the router's credentials: never kept (see normalize.SECRET_KEYS)."""

    Id: AnyId | None = None
    ManufacturerName: str | None = None
    Model: str | None = None
    Version: str | None = None
    PortType: str | None = None
    Guid: str | None = None


class ComputerPrinter(AutomateModel):
    """`LabTech.Models.ComputerPrinter` (GET /Computers/{id}/Printers): a printer installed on a computer."""

    Id: AnyId
    ComputerId: AnyId | None = None
    Name: str | None = None
    PortName: str | None = None
    Resolution: str | None = None
    PaperTypes: list[str] = Field(default_factory=list)
    Features: list[str] = Field(default_factory=list)


class ComputerChassis(AutomateModel):
    """`LabTech.Models.ComputerChassis` (GET /Computers/Chassis): make, model and chassis type per ComputerId."""

    ComputerId: AnyId
    Manufacturer: str | None = None
    ProductName: str | None = None
    SerialNumber: str | None = None
    ChassisType: str | None = None


class RetiredAsset(AutomateModel):
    """`LabTech.Models.RetiredAsset` (GET /RetiredAssets): a computer retired from Automate."""

    Id: AnyId
    ComputerId: AnyId
    ComputerName: str = Field(min_length=1)
    Client: Ref | None = None
    Location: Ref | None = None
    OperatingSystemName: str | None = None
    LocalIPAddress: str | None = None
    AssetTag: str | None = None
    RetiredDate: str | None = None


class NetworkDevice(AutomateModel):
    """`LabTech.Models.NetworkDevice` (GET /NetworkDevices): probe-discovered routers, switches, printers …"""

    Id: AnyId
    Name: str | None = None
    FriendlyName: str | None = None
    Location: Ref | None = None
    Client: Ref | None = None
    LocalIPAddress: str | None = None
    MACAddress: str | None = None
    DeviceType: Ref | None = None
    Status: str | None = None
    ManufacturerName: str | None = None
    ModelName: str | None = None
    Description: str | None = None
    LastContact: str | None = None
    LastUpdated: str | None = None
    DateAdded: str | None = None
    IsLowOnToner: bool | None = None
    IsLowOnPaper: bool | None = None
    ProbeId: int | None = None
    ProbeName: str | None = None


class Alert(AutomateModel):
    """`Automate.Api.Domain.Contracts.Alerts.Alert` (GET /Alerts: the alerts Automate currently holds)."""

    AlertId: int
    Client: Ref | None = None
    Computer: dict[str, Any] | None = None
    Device: Ref | None = None
    Location: Ref | None = None
    Monitor: Ref | None = None
    AlertDate: str | None = None
    Severity: Ref | None = None
    Source: str | None = None
    Message: str | None = None
    FieldName: str | None = None
    AlertAge: str | None = None


#: Fields declared as lists, per model: null reads as [] (see AutomateModel).
_LIST_FIELDS: dict[str, frozenset[str]] = {
    "Computer": frozenset({"LoggedInUsers"}),
    "ComputerPrinter": frozenset({"PaperTypes", "Features"}),
}
