"""The Datto RMM connector: sites (as customers), devices with their audits, alerts and paced alert resolves."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

import httpx

from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.datto_rmm import const, schemas
from rmmbridge.connectors.datto_rmm.client import DattoRmmClient
from rmmbridge.connectors.datto_rmm.credentials import DattoRmmCredentials
from rmmbridge.connectors.datto_rmm.normalize import (
    ID_KEYS,
    audit_class,
    audit_macs,
    normalize_account,
    prune_audit,
    site_as_customer,
    to_alert,
    to_device,
    to_site,
)
from rmmbridge.connectors.errors import ConnectorError, ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.items import DroppedField
from rmmbridge.connectors.ratelimit import RollingWindowLimiter, shared_limiter
from rmmbridge.connectors.rawcheck import KnownDevice, RawCheck, raw_keys_for
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

#: Device pages on the wire at once while one is read (no audits): the next one and the one predicted after it.
PAGES_IN_FLIGHT = 2
#: Version of the audit cache kept in the connector state (a different version is ignored and rebuilt).
STATE_VERSION = 1

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
    ("lastAuditDate", "Last audit date"),
    ("antivirus.antivirusProduct", "Antivirus product"),
    ("antivirus.antivirusStatus", "Antivirus status"),
    ("patchManagement.patchStatus", "Patch status"),
    ("softwareStatus", "Software status"),
    ("cagVersion", "Agent version"),
    ("portalUrl", "Portal URL"),
    ("webRemoteUrl", "Web remote URL"),
    ("audit.bios.serialNumber", "Audit: BIOS serial number"),
    ("audit.systemInfo.manufacturer", "Audit: manufacturer"),
    ("audit.systemInfo.model", "Audit: model"),
    ("audit.systemInfo.totalPhysicalMemory", "Audit: memory (bytes)"),
    ("audit.systemInfo.totalCpuCores", "Audit: CPU cores"),
    ("audit.baseBoard.product", "Audit: base board"),
    *((f"udf.udf{i}", f"UDF {i}") for i in range(1, const.UDF_COUNT + 1)),
)

#: The raw device keys each normalized attribute is read from (to_device; the audit holds serial, make, model and
#: MACs). Every raw fingerprint also covers the keys that identify, place, type and delete a device.
RAW_ATTRIBUTE_KEYS: dict[str, tuple[str, ...]] = {
    "hostname": ("hostname",), "site_external_id": ("siteUid",), "customer_external_id": ("siteUid",),
    "device_type": ("deviceType", "deviceClass"), "vendor_type": ("deviceType", "deviceClass"),
    "serial_number": ("audit", "deviceClass"), "manufacturer": ("audit", "deviceClass"), "model": ("audit",),
    "mac_addresses": ("audit",), "os_name": ("operatingSystem",), "ip_addresses": ("intIpAddress", "extIpAddress"),
    "last_logged_in_user": ("lastLoggedInUser",), "last_seen": ("lastSeen",), "online": ("online",),
    "parent_external_id": (), "deleted": ("deleted",), "external_id": ("uid",),
}
RAW_BASE_KEYS = ("uid", "hostname", "siteUid", "deviceType", "deviceClass", "deleted")


def _raw_macs(raw: Mapping[str, Any]) -> tuple[str, ...]:
    return audit_macs(raw)


@dataclass
class _AuditRun:
    """Counts of one audited device listing: devices listed, audits needed and done, uids seen."""

    started: float
    listed: int = 0
    needed: int = 0
    done: int = 0
    seen: set[str] = field(default_factory=set)


def format_eta(seconds: float) -> str:
    """`~14 min left`, `~40 s left`, `~2 h 5 min left`."""
    if seconds < 60:
        return f"~{max(int(seconds), 1)} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"~{minutes} min left"
    return f"~{minutes // 60} h {minutes % 60} min left"


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
    id_keys: ClassVar[tuple[str, ...]] = ID_KEYS

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, DattoRmmCredentials):
            raise TypeError("DattoRmmConnector needs DattoRmmCredentials")
        self.client = DattoRmmClient(http, credentials, self.redactor)
        #: Page size asked for (max 250); the API may return fewer.
        self.page_size = const.MAX_PAGE_SIZE
        #: Fetch the audit (serial, make, model, MACs) of each agent, ESXi host and printer that is new or whose
        #: lastAuditDate moved since the cached one; the credential setting "fetch_audits" turns it off.
        self.include_audit = credentials.fetch_audits
        #: uid -> {"at": lastAuditDate as sent, "class": deviceClass, "audit": pruned audit}; see load_state().
        self.audit_cache: dict[str, dict[str, Any]] = {}
        self.audit_cache_changed = False
        self.audits_fetched = 0
        self.audits_failed = 0
        self.clock: Callable[[], float] = time.monotonic
        self._progress_note: tuple[str, int, int] | None = None
        #: The raw digest of the device being converted (set by _known just before, same thread).
        self._digest = ""
        secrets = sorted(credentials.secret_values())
        digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest()[:16]
        account = (const.SLUG, str(http.base_url).rstrip("/"), digest)
        #: alert-resolve's own write limit (100 per 60 s), shared per account in the process, on top of the 600.
        self.resolve_limiter: RollingWindowLimiter = shared_limiter((*account, "alert-resolve"),
                                                                    const.ALERT_RESOLVE_PER_MINUTE)
        #: Audits at most 500 per 60 s (every request also passes the account's 600 limiter of the HTTP stack).
        self.audit_limiter: RollingWindowLimiter = shared_limiter((*account, "audits"), const.AUDITS_PER_MINUTE)

    # --- connector state (the audit cache), stored by the integration between runs --------------------------
    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore the audit cache the integration kept from earlier runs (unknown versions are ignored)."""
        audits = state.get("audits") if state.get("version") == STATE_VERSION else None
        if isinstance(audits, Mapping):
            self.audit_cache = {str(k): dict(v) for k, v in audits.items() if isinstance(v, Mapping)}
        self.audit_cache_changed = False

    def dump_state(self) -> dict[str, Any] | None:
        """The audit cache to store, or None when this run did not change it."""
        if not self.audit_cache_changed:
            return None
        return {"version": STATE_VERSION, "audits": self.audit_cache}

    def progress_note(self) -> tuple[str, int, int] | None:
        """(stage, done, total) while audits are fetched, e.g. ("audits (~14 min left)", 1200, 10000)."""
        return self._progress_note

    # --- reads ----------------------------------------------------------------------------------------------
    def account_info(self) -> AccountInfo:
        return normalize_account(self.client.get(const.ACCOUNT))

    def _pages(self, path: str, key: str, *, ahead: int = 1) -> Iterator[list[Any]]:
        return self.client.iter_pages(path, key, page_size=self.page_size, ahead=ahead)

    def iter_sites(self) -> Iterator[RemoteSite]:
        self._require(Capability.SITES)
        return self.stream(self._pages(const.ACCOUNT_SITES, "sites"), schemas.Site, "site", to_site)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """Each site as a customer (Datto RMM has nothing above the site)."""
        self._require(Capability.CUSTOMERS)
        return (site_as_customer(site) for site in self.iter_sites())

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Every device; with audits on, each one's cached or freshly fetched audit merged under "audit".

        Page by page: the devices whose cached audit is current come first, then those that need one (new, or
        lastAuditDate moved), each audited as it comes, at most 500 a minute (the account allows 600 and slows
        every answer above 90 %); progress_note() says "audits (~14 min left)", 1,200 of ~10,000 (the total
        estimated from pageDetails.totalCount and the share of devices that needed an audit so far).
        """
        self._require(Capability.DEVICES)
        pages: Iterable[Iterable[Any]]
        if self.include_audit:
            pages = self._audited_pages(self._pages(const.ACCOUNT_DEVICES, "devices"))
        else:  # the next pages are on the wire while this one is read
            pages = self._pages(const.ACCOUNT_DEVICES, "devices", ahead=PAGES_IN_FLIGHT)
        records = self.stream(pages, schemas.Device, "device", self._to_device, before=self._known)
        return cast(Iterator[RemoteDevice], records)  # KnownDevice only with an armed raw_check (the sync's)

    def iter_device_records(self, check: RawCheck | None) -> Iterator[RemoteDevice | KnownDevice]:
        """iter_devices; with an armed `check`, devices unchanged since their last import come as KnownDevice."""
        self.raw_check = check
        return iter(self.iter_devices())

    def raw_keys(self, paths: Sequence[str]) -> tuple[str, ...] | None:
        """Top-level raw keys behind `paths` (attributes by RAW_ATTRIBUTE_KEYS; `udf.udf1` → `udf`)."""
        return raw_keys_for(paths, RAW_ATTRIBUTE_KEYS, RAW_BASE_KEYS)

    def _known(self, raw: Any) -> KnownDevice | None:
        """RawCheck first: an unchanged device as KnownDevice (not validated); else remember its digest to stamp."""
        self._digest = ""
        check = self.raw_check
        if check is None or not isinstance(raw, Mapping):
            return None
        read = check.read(raw, raw.get("uid"), raw.get("hostname"), _raw_macs)
        if isinstance(read, KnownDevice):
            return read
        self._digest = read
        return None

    def _to_device(self, dev: schemas.Device, raw: Mapping[str, Any]) -> RemoteDevice:
        check = self.raw_check
        return to_device(dev, raw, keep=check.keep if check is not None else None, digest=self._digest)

    def _audited_pages(self, pages: Iterator[list[Any]]) -> Iterator[Iterator[Any]]:
        """Each page's raw devices with their audit merged in (cached, or fetched lazily as the stream reads on)."""
        run = _AuditRun(started=self.clock())
        for items in pages:
            yield self._audited_page(items, run)
        if run.needed:
            self._progress_note = ("audits", run.done, run.done)
        gone = [uid for uid in self.audit_cache if uid not in run.seen]
        for uid in gone:  # the stream was read to its end: devices no longer listed leave the cache
            del self.audit_cache[uid]
        if gone:
            self.audit_cache_changed = True

    def _audited_page(self, items: list[Any], run: _AuditRun) -> Iterator[Any]:
        pending: list[dict[str, Any]] = []
        for raw in items:
            run.listed += 1
            if not isinstance(raw, dict) or not isinstance(raw.get("uid"), str):
                yield raw  # the stream skips it and says why
                continue
            uid = raw["uid"]
            run.seen.add(uid)
            cls = audit_class(raw)
            cached = self.audit_cache.get(uid)
            if cls is None or raw.get("deleted") is True:
                yield {**raw, "audit": cached["audit"]} if cached else raw
            elif cached is not None and cached.get("at") == raw.get("lastAuditDate") and cached.get("class") == cls:
                yield {**raw, "audit": cached["audit"]}
            else:
                pending.append(raw)
        run.needed += len(pending)
        listed, needed = run.listed, run.needed
        total_listed = max(self.client.last_total_count or listed, listed)
        expected = needed + round((total_listed - listed) * needed / listed) if listed else needed
        for raw in pending:
            self._progress_note = (f"audits ({self._eta(run.done, expected, run.started)})", run.done, expected)
            yield self._audited(raw)
            run.done += 1

    def _eta(self, done: int, total: int, started: float) -> str:
        """Time left at the rate seen so far, never faster than the audits' 500 requests per minute."""
        per_second = const.AUDITS_PER_MINUTE / 60.0
        elapsed = self.clock() - started
        rate = min(done / elapsed, per_second) if done and elapsed > 0 else per_second
        return format_eta(max(total - done, 0) / rate)

    def _audited(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The raw device with its freshly fetched audit (or its cached one when the audit cannot be read)."""
        uid, cls = str(raw["uid"]), audit_class(raw) or "device"
        self.audit_limiter.acquire()
        try:
            audit = prune_audit(self.device_audit(uid, cls), cls)
        except (ConnectorFatalError, SkippableRecordError) as exc:
            # One unreadable audit costs that device its audit values, never the device or the run.
            self.audits_failed += 1
            self.field_issues.note("device", uid, [DroppedField("audit", "unreadable", exc.message[:120])])
            cached = self.audit_cache.get(uid)
            return {**raw, "audit": cached["audit"]} if cached else raw
        self.audits_fetched += 1
        self.audit_cache[uid] = {"at": raw.get("lastAuditDate"), "class": cls, "audit": audit}
        self.audit_cache_changed = True
        return {**raw, "audit": audit}

    def iter_site_devices(self, site_uid: str) -> Iterator[RemoteDevice]:
        """The devices of one site (GET /v2/site/{uid}/devices), without audits."""
        return self.stream(self._pages(const.SITE_DEVICES.format(site_uid=site_uid), "devices"), schemas.Device,
                           "device", to_device)

    def device_audit(self, device_uid: str, device_class: str = "device") -> dict[str, Any]:
        """The audit of one device by its class: /v2/audit/device, /v2/audit/esxihost or /v2/audit/printer.

        Serial in bios.serialNumber (ESXi: systemInfo.serviceTag, printers: snmpInfo.snmpSerial), make and model
        in systemInfo, MAC addresses in nics[].macAddress.
        """
        path = const.AUDIT_PATHS.get(device_class, const.DEVICE_AUDIT).format(device_uid=device_uid)
        try:
            audit = self.client.get(path)
        except ConnectorError as exc:
            if exc.status in (400, 404, 409):  # gone meanwhile, or not of this class: the device keeps no audit
                raise SkippableRecordError(f"audit of {device_uid} answered HTTP {exc.status}") from None
            raise
        if not isinstance(audit, dict):
            raise ConnectorFatalError(f"Datto RMM answered the audit of {device_uid} with a non-object.")
        return audit

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """Open or resolved alerts of the account; `since` filters on the raise (or resolve) time client-side."""
        self._require(Capability.ALERTS_POLL)
        path = const.ACCOUNT_ALERTS_OPEN if state is AlertState.OPEN else const.ACCOUNT_ALERTS_RESOLVED

        def convert(parsed: schemas.Alert, raw: Mapping[str, Any]) -> RemoteAlert | None:
            alert = to_alert(parsed, raw)
            when = alert.resolved_at if state is AlertState.RESOLVED else alert.raised_at
            return alert if since is None or when is None or when >= since else None

        return self.stream(self._pages(path, "alerts"), schemas.Alert, "alert", convert)

    # --- writes ---------------------------------------------------------------------------------------------
    def resolve_alert(self, external_id: str) -> None:
        """POST /v2/alert/{uid}/resolve, paced to 100 per 60 s; already resolved (409 Conflict) counts as done."""
        self._require(Capability.ALERT_RESOLVE)
        self.resolve_limiter.acquire()
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
