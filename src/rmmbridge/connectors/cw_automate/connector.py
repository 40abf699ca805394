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
)
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.items import field_list
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
    id_keys = parse_item.id_keys

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

    def _pages(self, path: str, order_by: str = "Id asc") -> Iterator[list[Any]]:
        return self.client.iter_pages(path, {"orderBy": order_by})

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """`GET /Clients`, ordered by Id."""
        self._require(Capability.CUSTOMERS)
        return self.stream(self._pages(const.CLIENTS_PATH), Client, "client", to_customer)

    def iter_sites(self) -> Iterator[RemoteSite]:
        """`GET /Locations`: every location with its `Client` reference."""
        self._require(Capability.SITES)
        return self.stream(self._pages(const.LOCATIONS_PATH), Location, "location", to_site)

    def iter_users(self) -> Iterator[RemoteUser]:
        """`GET /Contacts` (client contacts with their Client and Location)."""
        self._require(Capability.USERS)
        return self.stream(self._pages(const.CONTACTS_PATH), Contact, "contact", to_user)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Computers (with their chassis, and their printers when printers are mapped), then retired computers
        (deleted), then the locations' routers (when routers are mapped), then probe-discovered network devices."""
        self._require(Capability.DEVICES)
        chassis: dict[str, tuple[ComputerChassis, Mapping[str, Any]]] = {}

        def computer_pages() -> Iterator[list[Any]]:  # each page's chassis rows are read before its computers
            for page in self._pages(const.COMPUTERS_PATH):
                chassis.clear()
                chassis.update(self._chassis_for(page))
                yield page

        def computer(row: Computer, raw: Mapping[str, Any]) -> RemoteDevice:
            found = chassis.get(str(ident(row.Id)))
            return to_computer(row, raw, found[0] if found else None, found[1] if found else None, self.tz)

        for device in self.stream(computer_pages(), Computer, "computer", computer):
            yield device
            if self.include_printers:
                yield from self._printers_of(device)
        yield from self.stream(self._pages(const.RETIRED_ASSETS_PATH), RetiredAsset, "retired asset",
                               lambda asset, raw: to_retired(asset, raw, self.tz))
        if self.include_routers:
            yield from self.stream(self._pages(const.LOCATIONS_PATH), Location, "location", _router_of)
        yield from self.stream(self._pages(const.NETWORK_DEVICES_PATH), NetworkDevice, "network device",
                               lambda device, raw: to_network_device(device, raw, self.tz))

    def _printers_of(self, computer: RemoteDevice) -> Iterator[RemoteDevice]:
        """`GET /Computers/{id}/Printers` for one computer; a computer gone meanwhile (404) has none."""
        if not computer.external_id.isdigit():
            return iter(())
        path = const.COMPUTER_PRINTERS_PATH.format(computer_id=computer.external_id)

        def pages() -> Iterator[list[Any]]:
            try:
                yield self.client.get_list(path, {"pageSize": const.MAX_PAGE_SIZE})
            except ConnectorFatalError as exc:
                if exc.status != 404:
                    raise
            except ConnectorForbiddenError as exc:
                logger.warning("%s: no printers (%s); grant Computers > Printers read, or unmap printers.",
                               self.name, exc.message)
                self.include_printers = False

        return self.stream(pages(), ComputerPrinter, "printer", lambda printer, raw: to_printer(printer, raw, computer))

    def _chassis_for(self, computers: list[Any]) -> dict[str, tuple[ComputerChassis, Mapping[str, Any]]]:
        """Make, model and chassis type of one page of computers: `GET /Computers/Chassis?condition=ComputerId in
        (…)`. Without the permission (403) the devices come without them; a passing failure skips this page's."""
        raw_ids = (ident(raw.get("Id")) for raw in computers if isinstance(raw, Mapping))
        ids = [i for i in raw_ids if i is not None and i.isdigit()]
        if not ids or not self._chassis_available:
            return {}
        params = {"condition": f"ComputerId in ({','.join(ids)})"}
        pages = self.client.iter_pages(const.CHASSIS_PATH, params, page_size=max(len(ids), 1))
        found: dict[str, tuple[ComputerChassis, Mapping[str, Any]]] = {}
        try:
            for row, raw in self.stream(pages, ComputerChassis, "computer chassis", lambda row, raw: (row, raw)):
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
            return iter(())

        def convert(alert: Alert, raw: Mapping[str, Any]) -> RemoteAlert | None:
            remote = to_alert(alert, raw, self.tz)
            return remote if since is None or remote.raised_at is None or remote.raised_at >= since else None

        return self.stream(self._pages(const.ALERTS_PATH, "AlertId asc"), Alert, "alert", convert)

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        computers = device_type in (None, DeviceType.SERVER, DeviceType.WORKSTATION, DeviceType.LAPTOP,
                                    DeviceType.VIRTUAL_MACHINE, DeviceType.OTHER)
        network = device_type in (None, DeviceType.NETWORK_DEVICE, DeviceType.PRINTER, DeviceType.OTHER)
        return field_list(NORMALIZED_FIELDS, COMPUTER_FIELDS if computers else (),
                          NETWORK_DEVICE_FIELDS if network else ())


def _router_of(location: Location, raw: Mapping[str, Any]) -> RemoteDevice | None:
    """The router of a location (`Location.Router`), or None when the location has none."""
    router_raw = raw.get("Router")
    if location.Router is None or not isinstance(router_raw, Mapping):
        return None
    return to_router(location, location.Router, router_raw)
