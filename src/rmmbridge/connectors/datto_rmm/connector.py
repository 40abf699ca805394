"""The Datto RMM connector: sites (as customers), devices, open/resolved alerts and resolving alerts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, ClassVar, TypeVar

import httpx

from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.client import DattoRmmClient
from rmmbridge.connectors.datto_rmm.credentials import DattoRmmCredentials
from rmmbridge.connectors.datto_rmm.normalize import (
    normalize_account,
    normalize_alert,
    normalize_device,
    normalize_site,
    site_as_customer,
)
from rmmbridge.connectors.errors import ConnectorError, ConnectorFatalError, SkippableRecordError
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
)

T = TypeVar("T")

#: Vendor fields worth offering on the mapping screens (every other flattened field is mappable too).
DATTO_FIELDS: tuple[tuple[str, str], ...] = (
    ("uid", "Device UID"),
    ("id", "Device ID"),
    ("siteName", "Site name"),
    ("description", "Description"),
    ("domain", "Domain"),
    ("intIpAddress", "Internal IP address"),
    ("extIpAddress", "External IP address"),
    ("deviceType.category", "Device type category"),
    ("deviceType.type", "Device type"),
    ("deviceClass", "Device class"),
    ("warrantyDate", "Warranty date"),
    ("antivirus.antivirusProduct", "Antivirus product"),
    ("antivirus.antivirusStatus", "Antivirus status"),
    ("patchManagement.patchStatus", "Patch status"),
    ("softwareStatus", "Software status"),
    ("cagVersion", "Agent version"),
    ("portalUrl", "Portal URL"),
    ("webRemoteUrl", "Web remote URL"),
    *((f"udf.udf{i}", f"UDF {i}") for i in range(1, 31)),
)


class DattoRmmConnector(Connector):
    """Datto RMM v2 REST API. Sites are the customers; timestamps are epoch milliseconds."""

    slug: ClassVar[str] = const.SLUG
    name: ClassVar[str] = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = DattoRmmCredentials
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.CUSTOMERS,
        Capability.SITES,
        Capability.DEVICES,
        Capability.ALERTS_POLL,
        Capability.ALERT_RESOLVE,
        Capability.WEBHOOKS,
        Capability.ALERT_EMAIL,
    })
    sites_are_customers: ClassVar[bool] = True
    rate_limit_per_minute: ClassVar[int | None] = const.RATE_LIMIT_PER_MINUTE
    base_url_key: ClassVar[str] = "api_url"

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, DattoRmmCredentials):
            raise TypeError("DattoRmmConnector needs DattoRmmCredentials")
        self.client = DattoRmmClient(http, credentials, self.redactor)
        #: Page size asked for (max 250); the API may return fewer.
        self.page_size = const.MAX_PAGE_SIZE
        #: Opt-in: fetch each agent device's audit (one request per device, within the 600/min limit) so that
        #: serial number, manufacturer, model and MAC addresses are filled; they are not on the device record.
        self.include_audit = False

    def account_info(self) -> AccountInfo:
        return normalize_account(self.client.get(const.ACCOUNT))

    def _stream(self, path: str, key: str, convert: Callable[[Any], T]) -> Iterator[T]:
        for items in self.client.iter_pages(path, key, page_size=self.page_size):
            for raw in items:
                try:
                    yield convert(raw)
                except SkippableRecordError as exc:
                    self.note_skipped(exc.message)

    def iter_sites(self) -> Iterator[RemoteSite]:
        self._require(Capability.SITES)
        return self._stream(const.ACCOUNT_SITES, "sites", normalize_site)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """Each site as a customer (Datto RMM has nothing above the site)."""
        self._require(Capability.CUSTOMERS)
        return (site_as_customer(site) for site in self.iter_sites())

    def iter_devices(self) -> Iterator[RemoteDevice]:
        self._require(Capability.DEVICES)
        convert = self._with_audit if self.include_audit else normalize_device
        return self._stream(const.ACCOUNT_DEVICES, "devices", convert)

    def _with_audit(self, raw: Any) -> RemoteDevice:
        """Merge GET /v2/audit/device/{uid} under "audit" (agents only; network devices and printers have none)."""
        if isinstance(raw, dict) and isinstance(raw.get("uid"), str) and raw.get("deviceClass") == "device":
            raw = {**raw, "audit": self.device_audit(raw["uid"])}
        return normalize_device(raw)

    def iter_site_devices(self, site_uid: str) -> Iterator[RemoteDevice]:
        """The devices of one site (GET /v2/site/{uid}/devices)."""
        return self._stream(const.SITE_DEVICES.format(site_uid=site_uid), "devices", normalize_device)

    def device_audit(self, device_uid: str) -> dict[str, Any]:
        """The hardware audit of one device (serial in bios.serialNumber, make/model in systemInfo, nics)."""
        audit = self.client.get(const.DEVICE_AUDIT.format(device_uid=device_uid))
        if not isinstance(audit, dict):
            raise ConnectorFatalError(f"Datto RMM answered the audit of {device_uid} with a non-object.")
        return audit

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """Open or resolved alerts of the account; `since` filters on the raise (or resolve) time client-side."""
        self._require(Capability.ALERTS_POLL)
        path = const.ACCOUNT_ALERTS_OPEN if state is AlertState.OPEN else const.ACCOUNT_ALERTS_RESOLVED
        alerts = self._stream(path, "alerts", normalize_alert)
        if since is None:
            return alerts
        cutoff = since

        def after_cutoff(alert: RemoteAlert) -> bool:
            when = alert.resolved_at if state is AlertState.RESOLVED else alert.raised_at
            return when is None or when >= cutoff

        return (a for a in alerts if after_cutoff(a))

    def resolve_alert(self, external_id: str) -> None:
        """POST /v2/alert/{uid}/resolve; an alert already resolved (409 Conflict) counts as done."""
        self._require(Capability.ALERT_RESOLVE)
        try:
            self.client.post(const.ALERT_RESOLVE.format(alert_uid=external_id))
        except ConnectorError as exc:
            if exc.status == 409:
                return
            raise

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields = [AvailableField(path=p, label=label) for p, label in NORMALIZED_FIELDS]
        fields += [AvailableField(path=p, label=f"Datto: {label}") for p, label in DATTO_FIELDS]
        if device_type not in (DeviceType.NETWORK_DEVICE, DeviceType.PRINTER):
            fields.append(AvailableField(path="lastLoggedInUser", label="Datto: Last logged-in user"))
        return fields
