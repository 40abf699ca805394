"""The Atera connector: customers, contacts as users, agents and SNMP devices as devices, alerts polled and resolved."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

import httpx

from rmmbridge.connectors.atera import const
from rmmbridge.connectors.atera.client import AteraClient
from rmmbridge.connectors.atera.credentials import AteraCredentials
from rmmbridge.connectors.atera.normalize import (
    parse_item,
    to_alert,
    to_customer,
    to_device,
    to_snmp_device,
    to_user,
)
from rmmbridge.connectors.atera.schemas import AccountInfoResponse, Agent, Alert, Contact, Customer, SnmpDevice
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.http import Redactor
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

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, AteraCredentials):
            raise ConnectorConfigError("Atera needs AteraCredentials (api_url, api_key).")
        self.client = AteraClient(http, credentials)

    def _skip(self, exc: SkippableRecordError) -> None:
        logger.warning("%s", exc.message)
        self.note_skipped(exc.message)

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
        for page in self.client.iter_pages(const.CUSTOMERS_PATH):
            for raw in page:
                try:
                    yield to_customer(parse_item(Customer, raw, "customer"), raw)
                except SkippableRecordError as exc:
                    self._skip(exc)

    def iter_users(self) -> Iterator[RemoteUser]:
        """`GET /api/v3/contacts`; archived contacts are left out."""
        self._require(Capability.USERS)
        for page in self.client.iter_pages(const.CONTACTS_PATH):
            for raw in page:
                try:
                    contact = parse_item(Contact, raw, "contact")
                except SkippableRecordError as exc:
                    self._skip(exc)
                    continue
                if not contact.Archived:
                    yield to_user(contact, raw)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Agents (`GET /api/v3/agents`), then SNMP devices (`GET /api/v3/devices/snmpdevices`), page by page."""
        self._require(Capability.DEVICES)
        for page in self.client.iter_pages(const.AGENTS_PATH):
            for raw in page:
                try:
                    yield to_device(parse_item(Agent, raw, "agent"), raw)
                except SkippableRecordError as exc:
                    self._skip(exc)
        for page in self.client.iter_pages(const.SNMP_DEVICES_PATH):
            for raw in page:
                try:
                    yield to_snmp_device(parse_item(SnmpDevice, raw, "SNMP device"), raw)
                except SkippableRecordError as exc:
                    self._skip(exc)

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """`GET /api/v3/alerts?alertStatus=Open` (or `Resolved`); `since` filters on Created / ArchivedDate."""
        self._require(Capability.ALERTS_POLL)
        status = const.ALERT_STATUS_OPEN if state is AlertState.OPEN else const.ALERT_STATUS_RESOLVED
        for page in self.client.iter_pages(const.ALERTS_PATH, {"alertStatus": status}):
            for raw in page:
                try:
                    alert = to_alert(parse_item(Alert, raw, "alert"), raw)
                except SkippableRecordError as exc:
                    self._skip(exc)
                    continue
                if alert.state is not state:
                    continue
                when = alert.raised_at if state is AlertState.OPEN else alert.resolved_at
                if since is None or when is None or when >= since:
                    yield alert

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
        seen: set[str] = set()
        result: list[AvailableField] = []
        for path, label in fields:
            if path not in seen:
                seen.add(path)
                result.append(AvailableField(path=path, label=label))
        return result


