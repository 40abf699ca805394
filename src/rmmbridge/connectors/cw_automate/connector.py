"""The ConnectWise Automate connector: clients → customers, locations → sites, contacts, computers, network devices."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.cw_automate import const
from rmmbridge.connectors.cw_automate.client import AutomateClient
from rmmbridge.connectors.cw_automate.credentials import CwAutomateCredentials
from rmmbridge.connectors.cw_automate.normalize import (
    ASSET_TAG_FIELD,
    ident,
    parse_item,
    to_alert,
    to_computer,
    to_customer,
    to_network_device,
    to_printer,
    to_retired,
    to_router,
    to_site,
    to_user,
)
from rmmbridge.connectors.cw_automate.schemas import (
    Alert,
    Client,
    Computer,
    ComputerChassis,
    ComputerPrinter,
    Contact,
    Location,
    NetworkDevice,
    RetiredAsset,
)
from rmmbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorFatalError,
    ConnectorForbiddenError,
    ConnectorRetryableError,
    SkippableRecordError,
)
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.records import (
    AccountInfo,
    AlertState,
    AvailableField,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteSite,
    RemoteUser,
)

logger = logging.getLogger("rmmbridge.connectors.cw_automate")

COMPUTER_FIELDS: tuple[tuple[str, str], ...] = (
    ("Id", "Automate computer ID"),
    ("ComputerName", "Computer name"),
    ("FriendlyName", "Friendly name"),
    ("Type", "Type (Server/Workstation)"),
    ("Status", "Status"),
    ("Client.Name", "Client"),
    ("Location.Name", "Location"),
    ("OperatingSystemName", "Operating system"),
    ("OperatingSystemVersion", "OS version"),
    ("DomainName", "Domain"),
    ("SerialNumber", "Serial number"),
    ("AssetTag", "Asset tag"),
    ("AssetDate", "Asset date"),
    ("WarrantyEndDate", "Warranty end"),
    ("BiosManufacturer", "BIOS manufacturer"),
    ("BiosFlash", "BIOS version"),
    ("LocalIPAddress", "Local IP address"),
    ("GatewayIPAddress", "Gateway IP address"),
    ("MACAddress", "MAC address"),
    ("LastUserName", "Last user"),
    ("RemoteAgentLastContact", "Last contact"),
    ("LastHeartbeat", "Last heartbeat"),
    ("DateAdded", "Date added"),
    ("RemoteAgentVersion", "Agent version"),
    ("TotalMemory", "Total memory (MB)"),
    ("IsVirtualMachine", "Virtual machine"),
    ("IsRebootNeeded", "Reboot needed"),
    ("VirusScanner.Name", "Antivirus"),
    ("Comment", "Comment"),
    (ASSET_TAG_FIELD, "Asset tag (serial number; router GUID)"),
    ("Chassis.Manufacturer", "Manufacturer (chassis)"),
    ("Chassis.ProductName", "Model (chassis)"),
    ("Chassis.ChassisType", "Chassis type"),
    ("Chassis.SerialNumber", "Chassis serial number"),
)
NETWORK_DEVICE_FIELDS: tuple[tuple[str, str], ...] = (
    ("Id", "Automate network device ID"),
    ("Name", "Name"),
    ("FriendlyName", "Friendly name"),
    ("DeviceType.Name", "Device type"),
    ("ManufacturerName", "Manufacturer"),
    ("ModelName", "Model"),
    ("Description", "Description"),
    ("LocalIPAddress", "IP address"),
    ("MACAddress", "MAC address"),
    ("Status", "Status"),
    ("LastContact", "Last contact"),
    ("DateAdded", "Date added"),
    ("ProbeName", "Discovered by (probe)"),
    ("DetectionTemplateName", "Detection template"),
    ("IsLowOnToner", "Low on toner"),
    ("IsLowOnPaper", "Low on paper"),
)


class CwAutomateConnector(Connector):
    """ConnectWise Automate REST API v1 as an Integrator user (apitoken + ClientId header)."""

    slug = const.SLUG
    name = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = CwAutomateCredentials
    #: The REST API has GET /Alerts only (no resolve) and no push; Automate e-mails its alerts (see alerts.py).
    capabilities = frozenset(
        {
            Capability.CUSTOMERS,
            Capability.SITES,
            Capability.USERS,
            Capability.DEVICES,
            Capability.ALERTS_POLL,
            Capability.ALERT_EMAIL,
        }
    )
    rate_limit_per_minute = const.RATE_LIMIT_PER_MINUTE
    base_url_key = "server_url"

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, CwAutomateCredentials):
            raise ConnectorConfigError(
                "ConnectWise Automate needs CwAutomateCredentials (server_url, username, password, client_id)."
            )
        self.client = AutomateClient(http, credentials, self.redactor)
        self._chassis_available = True
        #: Offset-less timestamps are the server's local time (the integration's "Server time zone").
        self.tz = credentials.time_zone()
        #: Ask each server's and workstation's printers (`GET /Computers/{id}/Printers`, one request per computer)
        #: and yield them as child devices: only when a printer mapping exists (see `use_type_mappings`).
        self.include_printers = False
        #: Yield the locations' routers (`Location.Router`, asset tag = GUID): when routers are mapped.
        self.include_routers = False

    def use_type_mappings(self, mapped: frozenset[str]) -> None:
        """Called by the sync with the device types that have an asset type mapping: printers (one extra request
        per computer) and the locations' routers are imported, as in Halo, only when their type is mapped."""
        lowered = {m.lower() for m in mapped}
        self.include_printers = bool(lowered & {"printer", "printers"})
        self.include_routers = bool(lowered & {"network_device", "router", "routers"})

    def _skip(self, exc: SkippableRecordError) -> None:
        logger.warning("%s", exc.message)
        self.note_skipped(exc.message)

    def account_info(self) -> AccountInfo:
        """Log in and read one client (Clients > Read is the least permission Halo's guide asks for)."""
        first = self.client.get_list(const.CLIENTS_PATH, {"page": 1, "pageSize": 1})
        server = str(self.http.base_url).rstrip("/")
        host = server.partition("://")[2]
        username = self.client.auth.credentials.username
        details: dict[str, str | int | float | bool | None] = {"server_url": server, "username": username}
        details.update(self.client.auth.user)
        if first and isinstance(first[0], Mapping):
            details["first_client"] = str(first[0].get("Name", ""))
        return AccountInfo(
            account_id=f"{host}/{username}", display_name=f"ConnectWise Automate ({host})", details=details
        )

    def _items(self, path: str, model: Any, what: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        for page in self.client.iter_pages(path, params):
            for raw in page:
                try:
                    yield parse_item(model, raw, what), raw
                except SkippableRecordError as exc:
                    self._skip(exc)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """`GET /Clients`, ordered by Id."""
        self._require(Capability.CUSTOMERS)
        for client, raw in self._items(const.CLIENTS_PATH, Client, "client", {"orderBy": "Id asc"}):
            yield to_customer(client, raw)

    def iter_sites(self) -> Iterator[RemoteSite]:
        """`GET /Locations`: every location with its `Client` reference."""
        self._require(Capability.SITES)
        for location, raw in self._items(const.LOCATIONS_PATH, Location, "location", {"orderBy": "Id asc"}):
            yield to_site(location, raw)

    def iter_users(self) -> Iterator[RemoteUser]:
        """`GET /Contacts` (client contacts with their Client and Location)."""
        self._require(Capability.USERS)
        for contact, raw in self._items(const.CONTACTS_PATH, Contact, "contact", {"orderBy": "Id asc"}):
            yield to_user(contact, raw)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Computers (with their chassis, and their printers when printers are mapped), then retired computers
        (deleted), then the locations' routers (when routers are mapped), then probe-discovered network devices."""
        self._require(Capability.DEVICES)
        for page in self.client.iter_pages(const.COMPUTERS_PATH, {"orderBy": "Id asc"}):
            parsed: list[tuple[Computer, Mapping[str, Any]]] = []
            for raw in page:
                try:
                    parsed.append((parse_item(Computer, raw, "computer"), raw))
                except SkippableRecordError as exc:
                    self._skip(exc)
            chassis = self._chassis_for([c for c, _ in parsed])
            for computer, raw in parsed:
                found = chassis.get(str(ident(computer.Id)))
                device = to_computer(computer, raw, found[0] if found else None, found[1] if found else None, self.tz)
                yield device
                if self.include_printers:
                    yield from self._printers_of(device)
        for asset, raw in self._items(const.RETIRED_ASSETS_PATH, RetiredAsset, "retired asset", {"orderBy": "Id asc"}):
            yield to_retired(asset, raw, self.tz)
        for location, raw in (self._items(const.LOCATIONS_PATH, Location, "location", {"orderBy": "Id asc"})
                              if self.include_routers else ()):
            router_raw = raw.get("Router") if isinstance(raw, Mapping) else None
            if location.Router is not None and isinstance(router_raw, Mapping):
                router = to_router(location, location.Router, router_raw)
                if router is not None:
                    yield router
        for device, raw in self._items(
            const.NETWORK_DEVICES_PATH, NetworkDevice, "network device", {"orderBy": "Id asc"}
        ):
            yield to_network_device(device, raw, self.tz)

    def _printers_of(self, computer: RemoteDevice) -> Iterator[RemoteDevice]:
        """`GET /Computers/{id}/Printers` for one computer; a computer gone meanwhile (404) has none."""
        if not computer.external_id.isdigit():
            return
        path = const.COMPUTER_PRINTERS_PATH.format(computer_id=computer.external_id)
        try:
            rows = self.client.get_list(path, {"pageSize": const.MAX_PAGE_SIZE})
        except ConnectorFatalError as exc:
            if exc.status == 404:
                return
            raise
        except ConnectorForbiddenError as exc:
            logger.warning("%s: no printers (%s); grant Computers > Printers read, or unmap printers.", self.name,
                           exc.message)
            self.include_printers = False
            return
        for raw in rows:
            try:
                printer = parse_item(ComputerPrinter, raw, "printer")
            except SkippableRecordError as exc:
                self._skip(exc)
                continue
            yield to_printer(printer, raw, computer)

    def _chassis_for(self, computers: list[Computer]) -> dict[str, tuple[ComputerChassis, Mapping[str, Any]]]:
        """Make, model and chassis type of one page of computers: `GET /Computers/Chassis?condition=ComputerId in
        (…)`. Without the permission (403) the devices come without them; a passing failure skips this page's."""
        ids = [i for i in (ident(c.Id) for c in computers) if i is not None and i.isdigit()]
        if not ids or not self._chassis_available:
            return {}
        params = {"condition": f"ComputerId in ({','.join(ids)})"}
        found: dict[str, tuple[ComputerChassis, Mapping[str, Any]]] = {}
        try:
            for page in self.client.iter_pages(const.CHASSIS_PATH, params, page_size=max(len(ids), 1)):
                for raw in page:
                    try:
                        row = parse_item(ComputerChassis, raw, "computer chassis")
                    except SkippableRecordError as exc:
                        logger.info("%s", exc.message)
                        continue
                    found[str(ident(row.ComputerId))] = (row, raw)
                if len(found) >= len(ids):
                    break  # every computer of the page has its row: no need to ask for the (empty) next page
        except (ConnectorForbiddenError, ConnectorFatalError) as exc:
            logger.warning(
                "%s: no chassis data (%s); devices come without make, model and chassis type.", self.name, exc.message
            )
            self._chassis_available = False
        except ConnectorRetryableError as exc:
            logger.warning("%s: chassis data for %d computers skipped (%s).", self.name, len(ids), exc.message)
        return found

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """Open: `GET /Alerts` (the alerts Automate holds now). Resolved: nothing — the REST API keeps no history of
        cleared alerts; an alert missing from the open list has cleared."""
        self._require(Capability.ALERTS_POLL)
        if state is not AlertState.OPEN:
            return
        for alert, raw in self._items(const.ALERTS_PATH, Alert, "alert", {"orderBy": "AlertId asc"}):
            remote = to_alert(alert, raw, self.tz)
            if since is None or remote.raised_at is None or remote.raised_at >= since:
                yield remote

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields = list(NORMALIZED_FIELDS)
        if device_type in (
            None,
            DeviceType.SERVER,
            DeviceType.WORKSTATION,
            DeviceType.LAPTOP,
            DeviceType.VIRTUAL_MACHINE,
            DeviceType.OTHER,
        ):
            fields += COMPUTER_FIELDS
        if device_type in (None, DeviceType.NETWORK_DEVICE, DeviceType.PRINTER, DeviceType.OTHER):
            fields += NETWORK_DEVICE_FIELDS
        seen: set[str] = set()
        result = []
        for path, label in fields:
            if path not in seen:
                seen.add(path)
                result.append(AvailableField(path=path, label=label))
        return result
