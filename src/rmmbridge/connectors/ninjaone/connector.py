"""The NinjaOne connector: organizations → customers, locations → sites, end users, detailed devices, alerts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import httpx

from rmmbridge.common.prefetch import Prefetched
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorConfigError, ConnectorFatalError
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.items import field_list
from rmmbridge.connectors.ninjaone import const
from rmmbridge.connectors.ninjaone.client import NinjaOneClient
from rmmbridge.connectors.ninjaone.credentials import NinjaOneCredentials
from rmmbridge.connectors.ninjaone.normalize import (
    RAW_ATTRIBUTE_KEYS,
    RAW_BASE_KEYS,
    activity_status,
    activity_time,
    activity_to_alert,
    alert_severity,
    epoch_seconds,
    is_condition_activity,
    parse_item,
    raw_hostname,
    raw_macs,
    to_alert,
    to_customer,
    to_device,
    to_site,
    to_user,
)
from rmmbridge.connectors.ninjaone.schemas import Activity, Alert, Device, Location, Organization, User
from rmmbridge.connectors.paging import pages_until
from rmmbridge.connectors.rawcheck import KnownDevice, RawCheck, raw_id, raw_keys_for
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

logger = logging.getLogger("rmmbridge.connectors.ninjaone")
#: Device pages requested ahead of the one being read by the sync (iter_device_records).
PAGES_AHEAD = 2

#: Vendor fields a mapping can target, by device family (dotted paths as flattened into RemoteDevice.fields).
COMMON_FIELDS: tuple[tuple[str, str], ...] = (
    ("id", "Device ID"),
    ("uid", "Device UUID"),
    ("nodeClass", "Node class"),
    ("displayName", "Display name"),
    ("systemName", "System name"),
    ("dnsName", "DNS name"),
    ("approvalStatus", "Approval status"),
    ("offline", "Offline"),
    ("created", "Created (epoch s)"),
    ("lastContact", "Last contact (epoch s)"),
    ("lastUpdate", "Last update (epoch s)"),
    ("ipAddresses", "IP addresses"),
    ("macAddresses", "MAC addresses"),
    ("publicIP", "Public IP"),
    ("organizationId", "Organization ID"),
    ("locationId", "Location ID"),
    ("policyId", "Policy ID"),
    ("tags", "Tags"),
)
AGENT_FIELDS: tuple[tuple[str, str], ...] = (
    ("netbiosName", "NetBIOS name"),
    ("lastLoggedInUser", "Last logged-in user"),
    ("os.name", "OS name"),
    ("os.manufacturer", "OS manufacturer"),
    ("os.architecture", "OS architecture"),
    ("os.buildNumber", "OS build number"),
    ("os.releaseId", "OS release"),
    ("os.lastBootTime", "Last boot (epoch s)"),
    ("os.needsReboot", "Needs reboot"),
    ("system.manufacturer", "Manufacturer"),
    ("system.model", "Model"),
    ("system.serialNumber", "Serial number"),
    ("system.biosSerialNumber", "BIOS serial number"),
    ("system.assetSerialNumber", "Asset serial number"),
    ("system.domain", "Domain"),
    ("system.chassisType", "Chassis type"),
    ("system.totalPhysicalMemory", "Physical memory (bytes)"),
    ("system.virtualMachine", "Virtual machine"),
)
VM_HOST_FIELDS: tuple[tuple[str, str], ...] = (
    ("vendor", "Vendor"),
    ("model", "Model"),
    ("serviceTag", "Service tag"),
    ("cpuModel", "CPU model"),
    ("cpuCores", "CPU cores"),
    ("memorySize", "Memory (bytes)"),
    ("releaseName", "Hypervisor release"),
    ("version", "Hypervisor version"),
)
VM_GUEST_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentDeviceId", "Host device ID"),
    ("guestOSFullName", "Guest OS"),
    ("powerState", "Power state"),
    ("cpuCores", "CPU cores"),
    ("memorySize", "Memory (bytes)"),
    ("snapshotCount", "Snapshots"),
    ("toolStatus", "Guest tools status"),
)


class NinjaOneConnector(Connector):
    """NinjaOne Public API 2.0 over OAuth2 client credentials."""

    slug = const.SLUG
    name = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = NinjaOneCredentials
    capabilities = frozenset(
        {
            Capability.CUSTOMERS,
            Capability.SITES,
            Capability.USERS,
            Capability.DEVICES,
            Capability.ALERTS_POLL,
            Capability.ALERT_RESOLVE,
            Capability.WEBHOOKS,
        }
    )
    rate_limit_per_minute = const.RATE_LIMIT_PER_MINUTE
    base_url_key = "instance_url"
    id_keys = parse_item.id_keys

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, NinjaOneCredentials):
            raise ConnectorConfigError("NinjaOne needs NinjaOneCredentials (instance_url, client_id, client_secret).")
        self.client = NinjaOneClient(http, credentials, self.redactor)
        self._device_cache: dict[int, dict[str, Any] | None] = {}
        self._severities: dict[str, str] | None = None
        self._severities_complete = False
        self._digest = ""

    # -- items ---------------------------------------------------------------------------------------------

    def account_info(self) -> AccountInfo:
        """Get a token and read one organization: proves the credentials and the monitoring scope.

        NinjaOne has no account endpoint; the instance plus the API client id identifies the connection
        (every tenant on a regional instance shares its host name).
        """
        first = self.client.get_list(const.ORGANIZATIONS_PATH, {"pageSize": 1})
        instance = str(self.http.base_url).rstrip("/")
        netloc = instance.partition("://")[2]
        client_id = self.client.credentials.client_id
        details: dict[str, str | int | float | bool | None] = {"instance_url": instance, "client_id": client_id}
        if first and isinstance(first[0], dict):
            details["first_organization"] = str(first[0].get("name", ""))
        return AccountInfo(account_id=f"{netloc}/{client_id}", display_name=f"NinjaOne ({netloc})", details=details)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        self._require(Capability.CUSTOMERS)
        return self.stream(self.client.iter_pages(const.ORGANIZATIONS_PATH), Organization, "organization",
                           to_customer)

    def iter_sites(self) -> Iterator[RemoteSite]:
        """`GET /v2/locations`: every location of every organization, each with its organizationId."""
        self._require(Capability.SITES)
        return self.stream(self.client.iter_pages(const.LOCATIONS_PATH), Location, "location", to_site)

    def iter_users(self) -> Iterator[RemoteUser]:
        """`GET /v2/users?userType=END_USER` (one unpaged list; technicians are not customers' users)."""
        self._require(Capability.USERS)

        def convert(user: User, raw: Mapping[str, Any]) -> RemoteUser | None:
            return to_user(user, raw) if user.userType in (None, "END_USER") else None

        def pages() -> Iterator[list[Any]]:  # one unpaged answer, asked for when the first user is read
            yield self.client.get_list(const.USERS_PATH, {"userType": "END_USER"})

        return self.stream(pages(), User, "user", convert)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """`GET /v2/devices-detailed`, page by page (`pageSize` + `after`)."""
        self._require(Capability.DEVICES)
        return self.stream(self.client.iter_pages(const.DEVICES_PATH), Device, "device", to_device)

    def iter_device_records(self, check: RawCheck | None) -> Iterator[RemoteDevice | KnownDevice]:
        """iter_devices for the sync, the next page on the wire while this one is read; with an armed `check`,
        a device unchanged since its last import comes as a KnownDevice (not validated or flattened)."""
        self._require(Capability.DEVICES)
        self.raw_check = check
        pages = Prefetched(self.client.iter_pages(const.DEVICES_PATH), chunk=1, depth=PAGES_AHEAD,
                           name="ninjaone-pages")
        records: Iterator[RemoteDevice | KnownDevice] = self.stream(pages, Device, "device", self._to_device,
                                                                    before=self._known if check else None)
        yield from records

    def raw_keys(self, paths: Sequence[str]) -> tuple[str, ...] | None:
        """Top-level raw keys behind `paths` (attributes by RAW_ATTRIBUTE_KEYS; `userData.x` → `userData`)."""
        return raw_keys_for(paths, RAW_ATTRIBUTE_KEYS, RAW_BASE_KEYS)

    def _known(self, raw: Any) -> KnownDevice | None:
        """RawCheck first: an unchanged device as KnownDevice; else remember its digest to stamp."""
        self._digest = ""
        check = self.raw_check
        if check is None or not isinstance(raw, Mapping):
            return None
        hostname = raw_hostname(raw)
        if hostname is None:  # to_device skips it, with its message
            return None
        read = check.read(raw, raw_id(raw.get("id")), hostname, raw_macs,
                          deleted=raw.get("approvalStatus") == "DECOMMISSIONED")
        if isinstance(read, KnownDevice):
            return read
        self._digest = read
        return None

    def _to_device(self, device: Device, raw: Mapping[str, Any]) -> RemoteDevice:
        check = self.raw_check
        return to_device(device, raw, keep=check.keep if check is not None else None, digest=self._digest)

    # -- alerts --------------------------------------------------------------------------------------------

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """Open: `GET /v2/alerts` (active conditions). Resolved: CONDITION/RESET entries of `GET /v2/activities`."""
        self._require(Capability.ALERTS_POLL)
        if state is AlertState.OPEN:
            yield from self._open_alerts(since)
        else:
            yield from self._reset_alerts(since)

    def device_summary(self, device_id: int) -> Mapping[str, Any] | None:
        """`GET /v2/device/{id}` once per device id and connection (None when NinjaOne has no such device)."""
        if device_id not in self._device_cache:
            try:
                body = self.client.get(const.DEVICE_PATH.format(device_id=device_id))
            except ConnectorFatalError as exc:
                if exc.status != 404:
                    raise
                body = None
            self._device_cache[device_id] = body if isinstance(body, dict) else None
        return self._device_cache[device_id]

    def condition_severity(self, series_uid: str) -> str:
        """The severity (else priority) of a condition series, from its TRIGGERED activity ("" when none says).

        One `GET /v2/activities?type=CONDITION&status=TRIGGERED` page serves every alert of a poll; a series not
        on it (only when that page was full) is asked for by `seriesUid`.
        """
        if self._severities is None:
            page = self._activities({"type": "CONDITION", "status": const.STATUS_TRIGGERED,
                                     "pageSize": const.SEVERITY_PAGE_SIZE})
            self._severities = {}
            for item in page:
                self._note_severity(item)
            self._severities_complete = len(page) < const.SEVERITY_PAGE_SIZE
        if series_uid not in self._severities and not self._severities_complete:
            for item in self._activities({"type": "CONDITION", "seriesUid": series_uid, "pageSize": 10}):
                self._note_severity(item)
            self._severities.setdefault(series_uid, "")
        return self._severities.get(series_uid, "")

    def _activities(self, params: Mapping[str, str | int]) -> list[Any]:
        body = self.client.get(const.ACTIVITIES_PATH, params)
        items = body.get("activities") if isinstance(body, Mapping) else None
        return items if isinstance(items, list) else []

    def _note_severity(self, item: Any) -> None:
        if not isinstance(item, Mapping) or not isinstance(item.get("seriesUid"), str) or self._severities is None:
            return
        severity = alert_severity(*(v if isinstance(v, str) else None for v in (item.get("severity"),
                                                                               item.get("priority"))))
        uid = item["seriesUid"]
        if severity and not self._severities.get(uid):
            self._severities[uid] = severity  # newest first: the latest activity that states one wins
        else:
            self._severities.setdefault(uid, "")

    def _open_alerts(self, since: datetime | None) -> Iterator[RemoteAlert]:
        def convert(alert: Alert, raw: Mapping[str, Any]) -> RemoteAlert | None:
            raised = epoch_seconds(alert.createTime)
            if since is not None and raised is not None and raised < since:
                return None
            device = None
            if not alert.device and alert.deviceId is not None:
                device = self.device_summary(alert.deviceId)
            severity = ""
            if not alert_severity(alert.severity, alert.priority, alert.conditionHealthStatus):
                severity = self.condition_severity(alert.uid)
            return to_alert(alert, raw, device=device, severity=severity)

        return self.stream([self.client.get_list(const.ALERTS_PATH)], Alert, "alert", convert, id_keys=("uid",))

    def _reset_alerts(self, since: datetime | None) -> Iterator[RemoteAlert]:
        params = {"type": "CONDITION", "status": const.STATUS_RESET}

        def older(raw: Any) -> bool:
            at = activity_time(raw.get("activityTime")) if isinstance(raw, Mapping) else None
            return since is not None and at is not None and at < since

        def convert(activity: Activity, raw: Mapping[str, Any]) -> RemoteAlert | None:
            if older(raw) or not is_condition_activity(activity) or activity_status(activity) != const.STATUS_RESET:
                return None
            return activity_to_alert(activity, raw)

        # newest first: the page holding the first activity older than `since` is the last one read
        pages = pages_until(self.client.iter_activity_pages(params), lambda page: any(older(raw) for raw in page))
        return self.stream(pages, Activity, "activity", convert)

    def resolve_alert(self, external_id: str) -> None:
        """`POST /v2/alert/{uid}/reset` with a note as the activity's custom data.

        An alert NinjaOne no longer lists (404: already reset, or cleared by its condition) counts as resolved.
        """
        self._require(Capability.ALERT_RESOLVE)
        uid = external_id.strip()
        if not uid or "/" in uid:
            raise ConnectorConfigError(f"Not a NinjaOne alert UID: {external_id!r}.")
        try:
            self.client.post(const.ALERT_RESET_PATH.format(uid=uid), {"resetBy": "rmmbridge"}, manage=True)
        except ConnectorFatalError as exc:
            if exc.status != 404:
                raise
            logger.info("NinjaOne alert %s was already reset (404 on reset).", uid)

    def configure_webhook(self, url: str, headers: dict[str, str] | None = None) -> None:
        """`PUT /v2/webhook`: send CONDITION activities to `url` (optionally with headers, e.g. a shared secret)."""
        body: dict[str, Any] = {
            "url": url,
            "activities": {"CONDITION": ["TRIGGERED", "RESET"]},
            "expand": ["device"],
            "headers": [{"name": k, "value": v} for k, v in (headers or {}).items()],
        }
        self.client.request("PUT", const.WEBHOOK_PATH, body, manage=True)

    # -- mapping screens ------------------------------------------------------------------------------------

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields = list(NORMALIZED_FIELDS) + list(COMMON_FIELDS)
        if device_type in (None, DeviceType.WORKSTATION, DeviceType.LAPTOP, DeviceType.SERVER):
            fields += AGENT_FIELDS
        if device_type in (None, DeviceType.SERVER):
            fields += VM_HOST_FIELDS
        if device_type in (None, DeviceType.VIRTUAL_MACHINE):
            fields += VM_GUEST_FIELDS
        return field_list(fields)
