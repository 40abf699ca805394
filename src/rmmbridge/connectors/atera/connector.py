"""The Atera connector: customers, contacts as users, agents and SNMP devices as devices, alerts polled and resolved."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from rmmbridge.common.prefetch import Prefetched
from rmmbridge.connectors.atera import const
from rmmbridge.connectors.atera.client import AteraClient
from rmmbridge.connectors.atera.credentials import AteraCredentials
from rmmbridge.connectors.atera.normalize import (
    RAW_ATTRIBUTE_KEYS,
    RAW_BASE_KEYS,
    alert_time,
    parse_item,
    parse_timestamp,
    raw_agent_hostname,
    raw_agent_macs,
    to_alert,
    to_customer,
    to_device,
    to_snmp_device,
    to_user,
)
from rmmbridge.connectors.atera.schemas import AccountInfoResponse, Agent, Alert, Contact, Customer, SnmpDevice
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorFatalError
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.items import field_list
from rmmbridge.connectors.rawcheck import KnownDevice, RawCheck, raw_id, raw_keys_for
from rmmbridge.connectors.records import (
    AccountInfo,
    AlertState,
    AvailableField,
    DeviceType,
    RemoteAlert,
    RemoteCustomer,
    RemoteDevice,
    RemoteUser,
)

logger = logging.getLogger("rmmbridge.connectors.atera")
#: Agent pages requested ahead of the one being read by the sync (iter_device_records).
PAGES_AHEAD = 2

AGENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("AgentID", "Agent ID"),
    ("DeviceGuid", "Device GUID"),
    ("MachineID", "Machine ID"),
    ("MachineName", "Machine name"),
    ("AgentName", "Agent name"),
    ("SystemName", "System name"),
    ("DomainName", "Domain"),
    ("CustomerID", "Customer ID"),
    ("CustomerName", "Customer name"),
    ("FolderID", "Folder ID"),
    ("FolderName", "Folder name"),
    ("OSType", "OS type"),
    ("OS", "Operating system"),
    ("OSVersion", "OS version"),
    ("OSBuild", "OS build"),
    ("WindowsSerialNumber", "Windows serial number"),
    ("Vendor", "Vendor"),
    ("VendorSerialNumber", "Serial number"),
    ("VendorBrandModel", "Model"),
    ("ProductName", "Product name"),
    ("Processor", "Processor"),
    ("ProcessorCoresCount", "Processor cores"),
    ("Memory", "Memory (MB)"),
    ("Motherboard", "Motherboard"),
    ("BiosManufacturer", "BIOS manufacturer"),
    ("BiosVersion", "BIOS version"),
    ("IpAddresses", "IP addresses"),
    ("MacAddresses", "MAC addresses"),
    ("ReportedFromIP", "Reported from IP"),
    ("LastLoginUser", "Last login user"),
    ("CurrentLoggedUsers", "Logged-in users"),
    ("ComputerDescription", "Computer description"),
    ("Online", "Online"),
    ("LastSeen", "Last seen"),
    ("LastRebootTime", "Last reboot"),
    ("Created", "Created"),
    ("AgentVersion", "Agent version"),
    ("Office", "Office"),
    ("AppViewUrl", "Atera link"),
)
SNMP_FIELDS: tuple[tuple[str, str], ...] = (
    ("DeviceID", "SNMP device ID"),
    ("Name", "Name"),
    ("Hostname", "Host name / IP"),
    ("Type", "SNMP type"),
    ("Model", "Model"),
    ("Version", "SNMP version"),
    ("MonitoringAgentID", "Monitoring agent ID"),
)


class AteraConnector(Connector):
    """Atera API v3 with an API key (`X-API-KEY`, or a JWT token as bearer)."""

    slug = const.SLUG
    name = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = AteraCredentials
    capabilities = frozenset({
        Capability.CUSTOMERS,
        Capability.USERS,
        Capability.DEVICES,
        Capability.ALERTS_POLL,
        Capability.ALERT_RESOLVE,
    })
    rate_limit_per_minute = const.RATE_LIMIT_PER_MINUTE
    base_url_key = "api_url"
    id_keys = parse_item.id_keys

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, AteraCredentials):
            raise ConnectorConfigError("Atera needs AteraCredentials (api_url, api_key).")
        self.client = AteraClient(http, credentials)
        self._agents_by_name: dict[str, list[dict[str, Any]]] = {}
        self._snmp_by_guid_cache: dict[str, str | None] = {}
        #: Pages read by the last windowed resolved-alerts poll (for tests and the request budget).
        self.resolved_pages_read = 0

    def account_info(self) -> AccountInfo:
        """`GET /api/v3/account`: proves the key and names the Atera account."""
        body = self.client.get(const.ACCOUNT_PATH)
        if not isinstance(body, dict):
            raise ConnectorFatalError(f"Atera answered {const.ACCOUNT_PATH} without an account object.")
        account = AccountInfoResponse.model_validate(body)
        company = account.CompanyName or self.http.base_url.host
        return AccountInfo(
            account_id=account.AccountID or self.http.base_url.host,
            display_name=f"Atera – {company}",
            details={"plan": account.Plan, "time_zone": account.TimeZoneName, "country": account.Country,
                     "auth": "JWT bearer" if self.client.auth.uses_bearer else "X-API-KEY"},
        )

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        self._require(Capability.CUSTOMERS)
        return self.stream(self.client.iter_pages(const.CUSTOMERS_PATH), Customer, "customer", to_customer)

    def iter_users(self) -> Iterator[RemoteUser]:
        """`GET /api/v3/contacts`; archived contacts are left out."""
        self._require(Capability.USERS)

        def convert(contact: Contact, raw: Mapping[str, Any]) -> RemoteUser | None:
            return None if contact.Archived else to_user(contact, raw)

        return self.stream(self.client.iter_pages(const.CONTACTS_PATH), Contact, "contact", convert)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Agents (`GET /api/v3/agents`), then SNMP devices (`GET /api/v3/devices/snmpdevices`), page by page."""
        self._require(Capability.DEVICES)
        yield from self.stream(self.client.iter_pages(const.AGENTS_PATH), Agent, "agent", to_device)
        yield from self.stream(self.client.iter_pages(const.SNMP_DEVICES_PATH), SnmpDevice, "SNMP device",
                               to_snmp_device)

    def iter_device_records(self, check: RawCheck | None) -> Iterator[RemoteDevice | KnownDevice]:
        """iter_devices for the sync, the next page on the wire while this one is read; with an armed `check`, an
        agent unchanged since its last import comes as a KnownDevice (not validated or flattened). SNMP devices
        (few, and of another shape) are always normalised."""
        self._require(Capability.DEVICES)
        self.raw_check = check
        agents = Prefetched(self.client.iter_pages(const.AGENTS_PATH), chunk=1, depth=PAGES_AHEAD,
                            name="atera-pages")
        records: Iterator[RemoteDevice | KnownDevice] = self.stream(agents, Agent, "agent", self._to_device,
                                                                    before=self._known if check else None)
        yield from records
        yield from self.stream(self.client.iter_pages(const.SNMP_DEVICES_PATH), SnmpDevice, "SNMP device",
                               to_snmp_device)

    def raw_keys(self, paths: Sequence[str]) -> tuple[str, ...] | None:
        """Top-level raw agent keys behind `paths` (attributes by RAW_ATTRIBUTE_KEYS; `BatteryInfo.Name` →
        `BatteryInfo`)."""
        return raw_keys_for(paths, RAW_ATTRIBUTE_KEYS, RAW_BASE_KEYS)

    def _known(self, raw: Any) -> KnownDevice | None:
        """RawCheck first: an unchanged agent as KnownDevice; else remember its digest to stamp."""
        self._digest = ""
        check = self.raw_check
        if check is None or not isinstance(raw, Mapping):
            return None
        read = check.read(raw, raw_id(raw.get("AgentID")), raw_agent_hostname(raw), raw_agent_macs, deleted=False)
        if isinstance(read, KnownDevice):
            return read
        self._digest = read
        return None

    def _to_device(self, agent: Agent, raw: Mapping[str, Any]) -> RemoteDevice:
        check = self.raw_check
        return to_device(agent, raw, keep=check.keep if check is not None else None, digest=self._digest)

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """`GET /api/v3/alerts?alertStatus=Open` (or `Resolved`); `since` filters on Created / ArchivedDate.

        Atera has no date filter, so resolved alerts are read from the newest end of the list (by AlertID, either
        order the API uses) and reading stops at the first page with nothing archived since `since`.
        """
        self._require(Capability.ALERTS_POLL)
        status = const.ALERT_STATUS_OPEN if state is AlertState.OPEN else const.ALERT_STATUS_RESOLVED

        def convert(alert: Alert, raw: Mapping[str, Any]) -> RemoteAlert | None:
            if bool(alert.Archived) is not (state is AlertState.RESOLVED):
                return None
            when = alert_time(alert)
            if since is not None and when is not None and when < since:
                return None
            return to_alert(alert, raw, device_external_id=self.alert_device(alert))

        if state is AlertState.RESOLVED and since is not None:
            pages: Iterable[list[Any]] = self._newest_pages({"alertStatus": status}, since)
        else:
            pages = self.client.iter_pages(const.ALERTS_PATH, {"alertStatus": status})
        return self.stream(pages, Alert, "alert", convert)

    def _newest_pages(self, params: Mapping[str, str], since: datetime) -> Iterator[list[Any]]:
        """Alert pages from the newest AlertID down, until a page has no alert that changed since `since`."""
        first, total = self.client.get_page(const.ALERTS_PATH, 1, params)
        if total <= 1:
            yield first
            return
        last, total = self.client.get_page(const.ALERTS_PATH, total, params)
        descending = max(_alert_ids(first), default=0) >= max(_alert_ids(last), default=0)
        numbers = list(range(1, total + 1)) if descending else list(range(total, 0, -1))
        fetched = {1: first, total: last}
        self.resolved_pages_read = 0
        for number in numbers:
            page = fetched.pop(number, None)
            if page is None:
                page, _ = self.client.get_page(const.ALERTS_PATH, number, params)
            self.resolved_pages_read += 1
            yield page
            if not any(_changed_since(item, since) for item in page):
                return

    def alert_device(self, alert: Alert) -> str | None:
        """The device of an alert without AgentId: the agent with its DeviceGuid, else the one agent of that name
        in the alert's customer (`GET /api/v3/agents/machine/{name}`, once per name), else the SNMP device with
        that DeviceGuid. None when nothing matches (the alert still carries DeviceName as hostname)."""
        if alert.AgentId:
            return str(alert.AgentId)
        agents = self._agents_named(alert.DeviceName) if alert.DeviceName else []
        guid = (alert.DeviceGuid or "").lower()
        for agent in agents:
            if guid and str(agent.get("DeviceGuid") or "").lower() == guid:
                return str(agent["AgentID"])
        same_customer = [a for a in agents if alert.CustomerID is not None and a.get("CustomerID") == alert.CustomerID]
        if len(same_customer) == 1:
            return str(same_customer[0]["AgentID"])
        if guid:
            return self._snmp_by_guid(guid)
        return None

    def _agents_named(self, name: str) -> list[dict[str, Any]]:
        key = name.strip().lower()
        if key not in self._agents_by_name:
            path = const.AGENTS_BY_MACHINE_PATH.format(machine_name=quote(name.strip(), safe=""))
            found: list[dict[str, Any]] = []
            try:
                for page in self.client.iter_pages(path):
                    found += [a for a in page if isinstance(a, dict) and isinstance(a.get("AgentID"), int)]
            except ConnectorFatalError as exc:
                if exc.status != 404:
                    raise
            self._agents_by_name[key] = found
        return self._agents_by_name[key]

    def _snmp_by_guid(self, guid: str) -> str | None:
        if guid not in self._snmp_by_guid_cache:
            try:
                body = self.client.get(const.SNMP_DEVICE_BY_GUID_PATH.format(device_guid=quote(guid, safe="")))
            except ConnectorFatalError as exc:
                if exc.status != 404:
                    raise
                body = None
            device_id = body.get("DeviceID") if isinstance(body, dict) else None
            found = f"{const.SNMP_ID_PREFIX}{device_id}" if isinstance(device_id, int) else None
            self._snmp_by_guid_cache[guid] = found
        return self._snmp_by_guid_cache[guid]

    def resolve_alert(self, external_id: str) -> None:
        """`PUT /api/v3/alerts/{alertId}` ("Resolve specified alert", 204).

        An alert Atera no longer has (404: deleted, as Halo before v2.174 did) counts as resolved.
        """
        self._require(Capability.ALERT_RESOLVE)
        alert_id = external_id.strip()
        if not alert_id.isdigit():
            raise ConnectorConfigError(f"Not an Atera alert ID (a number): {external_id!r}.")
        try:
            self.client.put(const.ALERT_PATH.format(alert_id=alert_id))
        except ConnectorFatalError as exc:
            if exc.status != 404:
                raise
            logger.info("Atera alert %s no longer exists (404 on resolve); treating it as resolved.", alert_id)

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields: list[tuple[str, str]] = list(NORMALIZED_FIELDS)
        if device_type not in (DeviceType.PRINTER, DeviceType.NETWORK_DEVICE):
            fields += AGENT_FIELDS
        if device_type in (None, DeviceType.PRINTER, DeviceType.NETWORK_DEVICE):
            fields += SNMP_FIELDS
        return field_list(fields)


def _alert_ids(page: list[Any]) -> list[int]:
    return [item["AlertID"] for item in page if isinstance(item, Mapping) and type(item.get("AlertID")) is int]


def _changed_since(item: Any, since: datetime) -> bool:
    """True when a raw alert was archived (or, unarchived, created) at or after `since`, or its time is unreadable."""
    if not isinstance(item, Mapping):
        return True
    when = parse_timestamp(item.get("ArchivedDate") if item.get("Archived") else item.get("Created"))
    return when is None or when >= since
