"""The N-central connector: customers, sites, devices (assets on request) and active issues as open alerts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import httpx

from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import (
    ConnectorConfigError,
    ConnectorFatalError,
    ConnectorForbiddenError,
)
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.ncentral import const
from rmmbridge.connectors.ncentral.client import NcentralClient
from rmmbridge.connectors.ncentral.credentials import NcentralCredentials
from rmmbridge.connectors.ncentral.normalize import (
    ID_KEYS,
    account_from_server_info,
    to_alert,
    to_customer,
    to_device,
    to_site,
)
from rmmbridge.connectors.ncentral.schemas import ActiveIssue, Customer, Device, Site
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

logger = logging.getLogger("rmmbridge.connectors.ncentral")

#: Fields of the device list a mapping can target (dotted names as flattened into RemoteDevice.fields).
DEVICE_FIELDS: tuple[tuple[str, str], ...] = (
    ("deviceId", "Device ID"),
    ("longName", "Device name"),
    ("discoveredName", "Discovered name"),
    ("deviceClass", "Device class"),
    ("deviceClassLabel", "Device class label"),
    ("description", "Description"),
    ("isProbe", "Is a probe"),
    ("supportedOs", "Supported OS"),
    ("supportedOsLabel", "OS"),
    ("lastLoggedInUser", "Last logged-in user"),
    ("stillLoggedIn", "Still logged in"),
    ("licenseMode", "License mode"),
    ("orgUnitId", "Org unit ID"),
    ("soName", "Service organization"),
    ("customerId", "Customer ID"),
    ("customerName", "Customer name"),
    ("siteId", "Site ID"),
    ("siteName", "Site name"),
    ("applianceId", "Appliance ID"),
    ("lastApplianceCheckinTime", "Last appliance check-in (ISO)"),
)
#: Inventory fields present only with `include_assets` (the assets endpoint, one request per device).
ASSET_FIELDS: tuple[tuple[str, str], ...] = (
    ("assets.computersystem.serialnumber", "Serial number (assets)"),
    ("assets.computersystem.manufacturer", "Manufacturer (assets)"),
    ("assets.computersystem.model", "Model (assets)"),
    ("assets.computersystem.totalphysicalmemory", "Physical memory, bytes (assets)"),
    ("assets.os.reportedos", "Reported OS (assets)"),
    ("assets.os.version", "OS version (assets)"),
    ("assets.os.osarchitecture", "OS architecture (assets)"),
    ("assets.processor.name", "Processor (assets)"),
    ("assets.networkadapter.list.0.ipaddress", "First NIC IP address (assets)"),
    ("assets.networkadapter.list.0.macaddress", "First NIC MAC address (assets)"),
    ("assets._extra.device.warrantyexpirydate", "Warranty expiry (assets)"),
    ("assets._extra.device.createdon", "Created on (assets)"),
)


class NcentralConnector(Connector):
    """N-able N-central REST API (2023.9+) with a User-API token."""

    slug = const.SLUG
    name = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = NcentralCredentials
    capabilities = frozenset(
        {Capability.CUSTOMERS, Capability.SITES, Capability.DEVICES, Capability.ALERTS_POLL, Capability.WEBHOOKS}
    )
    rate_limit_per_minute = const.RATE_LIMIT_PER_MINUTE
    base_url_key = "server_url"
    id_keys = ID_KEYS

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, NcentralCredentials):
            raise ConnectorConfigError("N-central needs NcentralCredentials (server_url, api_token).")
        self.client = NcentralClient(http, credentials.api_token.get_secret_value(), self.redactor)
        #: Fetch `GET /api/devices/{id}/assets` for every device (serial, make, model, NICs): one extra request
        #: per device, so off unless the integration's "Fetch inventory" option is on (5,000 devices = 5,000 requests).
        self.include_assets = credentials.fetch_assets
        #: Why inventory was not fetched in this run (set when the assets endpoint refuses access).
        self.assets_warning = ""

    def account_info(self) -> AccountInfo:
        """Authenticate (POST /api/auth/authenticate) and read `GET /api/server-info` (the versions it names)."""
        info = self.client.get(const.SERVER_INFO_PATH)
        host = self.http.base_url.host
        port = self.http.base_url.port
        return account_from_server_info(info, host if port is None else f"{host}:{port}",
                                        str(self.http.base_url).rstrip("/"))

    def _pages(self, path: str) -> Iterator[list[Any]]:
        return self.client.iter_pages(path)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """`GET /api/customers`: every customer of every service organization the API user can see."""
        self._require(Capability.CUSTOMERS)
        return self.stream(self._pages(const.CUSTOMERS_PATH), Customer, "customer", to_customer)

    def iter_sites(self) -> Iterator[RemoteSite]:
        """`GET /api/sites`: every site; `parentId` is its customer."""
        self._require(Capability.SITES)
        return self.stream(self._pages(const.SITES_PATH), Site, "site", to_site)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """`GET /api/devices` page by page (plus `/api/devices/{id}/assets` per device with include_assets)."""
        self._require(Capability.DEVICES)

        def convert(device: Device, raw: Mapping[str, Any]) -> RemoteDevice:
            return to_device(device, raw, self._assets_or_none(device.deviceId) if self.include_assets else None)

        return self.stream(self._pages(const.DEVICES_PATH), Device, "device", convert)

    def _assets_or_none(self, device_id: int | str) -> dict[str, Any] | None:
        """Assets for one device; a 403 turns the option off for this run (devices still come, without inventory)."""
        try:
            return self.device_assets(device_id)
        except ConnectorForbiddenError as exc:
            self.include_assets = False
            self.assets_warning = (
                f"N-central refused the device assets ({exc.message}); devices are imported without serial "
                "number, make and model. Give the API user's role access to device assets, or switch off "
                "'Fetch inventory'."
            )
            logger.warning("%s", self.assets_warning)
            return None

    def device_assets(self, device_id: int | str) -> dict[str, Any] | None:
        """The `data` of `GET /api/devices/{id}/assets`; None when the device is gone (404) or has none."""
        try:
            body = self.client.get(const.DEVICE_ASSETS_PATH.format(device_id=device_id))
        except ConnectorFatalError as exc:
            if exc.status == 404:
                return None
            raise
        data = body.get("data") if isinstance(body, Mapping) else None
        return dict(data) if isinstance(data, Mapping) else None

    # -- alerts ----------------------------------------------------------------------------------------------------
    def _issue_org_units(self) -> list[str]:
        """Org units to read active issues from: every customer and every site (ids as strings).

        The active-issues endpoint serves customer and site org units (not the service organization), so each is
        asked in turn — one request at a time, which keeps a large tenant's first poll inside N-central's
        in-flight limit (it counts concurrent requests per endpoint, 3–50)."""
        units: dict[str, None] = {}
        for unit in (*self.stream(self._pages(const.CUSTOMERS_PATH), Customer, "customer",
                                  lambda customer, _raw: str(customer.customerId).strip()),
                     *self.stream(self._pages(const.SITES_PATH), Site, "site",
                                  lambda site, _raw: str(site.siteId).strip())):
            if unit:
                units.setdefault(unit)
        return list(units)

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """Open: the active issues of every customer and site org unit (an issue seen twice counts once).
        Resolved: N-central's API has no history of cleared issues, so nothing is listed; an issue that leaves the
        active list is resolved."""
        self._require(Capability.ALERTS_POLL)
        if state is not AlertState.OPEN:
            return
        seen: set[str] = set()

        def convert(issue: ActiveIssue, raw: Mapping[str, Any]) -> RemoteAlert | None:
            task = str(issue.taskId).strip()
            if task in seen:
                return None
            seen.add(task)
            alert = to_alert(issue, raw)
            return alert if since is None or alert.raised_at is None or alert.raised_at >= since else None

        for unit in self._issue_org_units():
            try:
                pages = list(self._pages(const.ACTIVE_ISSUES_PATH.format(org_unit_id=unit)))
            except ConnectorFatalError as exc:
                if exc.status != 404:
                    raise
                logger.info("N-central org unit %s has gone since it was listed; skipped.", unit)
                continue
            yield from self.stream(pages, ActiveIssue, "active issue", convert)

    # -- mapping screens -----------------------------------------------------------------------------------------
    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields = list(NORMALIZED_FIELDS) + list(DEVICE_FIELDS)
        if self.include_assets:
            fields += ASSET_FIELDS
        return [AvailableField(path=path, label=label) for path, label in fields]
