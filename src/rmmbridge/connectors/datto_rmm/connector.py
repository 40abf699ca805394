"""The Datto RMM connector: sites (as customers), devices with their audits, alerts and paced alert resolves."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar, cast

import httpx

from rmmbridge.common.prefetch import Prefetched
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.datto_rmm import const
from rmmbridge.connectors.datto_rmm.client import DattoRmmClient
from rmmbridge.connectors.datto_rmm.credentials import DattoRmmCredentials
from rmmbridge.connectors.datto_rmm.normalize import (
    audit_class,
    audit_identity,
    normalize_account,
    normalize_alert,
    normalize_device,
    normalize_site,
    prune_audit,
    site_as_customer,
)
from rmmbridge.connectors.errors import ConnectorError, ConnectorFatalError, SkippableRecordError
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.items import DroppedField
from rmmbridge.connectors.ratelimit import RollingWindowLimiter, shared_limiter
from rmmbridge.connectors.rawcheck import KnownDevice, RawCheck
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
#: Device pages requested ahead of the one being read.
PAGES_AHEAD = 2
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

#: The raw device keys each normalized attribute is read from (normalize_device; the audit holds serial, make,
#: model and MACs). Every raw fingerprint also covers the keys that identify, place, type and delete a device.
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
    return audit_identity(raw)[3]


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

    def _stream(self, path: str, key: str, convert: Callable[[Any], T], *, ahead: bool = False) -> Iterator[T]:
        pages: Iterable[list[Any]] = self.client.iter_pages(path, key, page_size=self.page_size)
        if ahead:  # the next page is on the wire while this one is read
            pages = Prefetched(pages, chunk=1, depth=PAGES_AHEAD, name="datto-pages")
        for items in pages:
            for raw in items:
                try:
                    yield convert(raw)
                except SkippableRecordError as exc:
                    self.note_skipped(exc.message)

    def raw_keys(self, paths: Sequence[str]) -> tuple[str, ...] | None:
        """Top-level raw keys behind `paths` (attributes by RAW_ATTRIBUTE_KEYS; `udf.udf1` → `udf`)."""
        keys = dict.fromkeys(RAW_BASE_KEYS)
        for path in paths:
            found = RAW_ATTRIBUTE_KEYS.get(path)
            if found is None:
                field = path[7:] if path.startswith("fields.") else path
                found = (field.split(".", 1)[0],)
            keys.update(dict.fromkeys(found))
        return tuple(keys)

    def _device(self, raw: Any) -> RemoteDevice | KnownDevice:
        check = self.raw_check
        if check is None or not isinstance(raw, Mapping):
            return normalize_device(raw, self.field_issues)
        read = check.read(raw, raw.get("uid"), raw.get("hostname"), _raw_macs)
        if isinstance(read, KnownDevice):
            return read
        return normalize_device(raw, self.field_issues, keep=check.keep, digest=read)

    def _alert(self, raw: Any) -> RemoteAlert:
        return normalize_alert(raw, self.field_issues)

    def iter_sites(self) -> Iterator[RemoteSite]:
        self._require(Capability.SITES)
        return self._stream(const.ACCOUNT_SITES, "sites", normalize_site)

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
        if not self.include_audit:
            return cast(Iterator[RemoteDevice], self._stream(const.ACCOUNT_DEVICES, "devices", self._device,
                                                             ahead=True))
        return cast(Iterator[RemoteDevice], self._devices_with_audits())  # KnownDevice only with a raw_check

    def iter_device_records(self, check: RawCheck | None) -> Iterator[RemoteDevice | KnownDevice]:
        """iter_devices; with an armed `check`, devices unchanged since their last import come as KnownDevice."""
        self.raw_check = check
        return iter(self.iter_devices())

    def _devices_with_audits(self) -> Iterator[RemoteDevice | KnownDevice]:
        seen: set[str] = set()
        listed = needed = done = 0
        started = self.clock()
        for items in self.client.iter_pages(const.ACCOUNT_DEVICES, "devices", page_size=self.page_size):
            pending: list[dict[str, Any]] = []
            for raw in items:
                listed += 1
                if not isinstance(raw, dict) or not isinstance(raw.get("uid"), str):
                    yield from self._converted(raw)
                    continue
                uid = raw["uid"]
                seen.add(uid)
                cls = audit_class(raw)
                cached = self.audit_cache.get(uid)
                if cls is None or raw.get("deleted") is True:
                    yield from self._converted({**raw, "audit": cached["audit"]} if cached else raw)
                elif cached is not None and cached.get("at") == raw.get("lastAuditDate") \
                        and cached.get("class") == cls:
                    yield from self._converted({**raw, "audit": cached["audit"]})
                else:
                    pending.append(raw)
            needed += len(pending)
            total_listed = max(self.client.last_total_count or listed, listed)
            expected = needed + round((total_listed - listed) * needed / listed) if listed else needed
            for raw in pending:
                self._progress_note = (f"audits ({self._eta(done, expected, started)})", done, expected)
                yield from self._audited(raw)
                done += 1
        if needed:
            self._progress_note = ("audits", done, done)
        gone = [uid for uid in self.audit_cache if uid not in seen]
        for uid in gone:  # the stream was read to its end: devices no longer listed leave the cache
            del self.audit_cache[uid]
        if gone:
            self.audit_cache_changed = True

    def _eta(self, done: int, total: int, started: float) -> str:
        """Time left at the rate seen so far, never faster than the audits' 500 requests per minute."""
        per_second = const.AUDITS_PER_MINUTE / 60.0
        elapsed = self.clock() - started
        rate = min(done / elapsed, per_second) if done and elapsed > 0 else per_second
        return format_eta(max(total - done, 0) / rate)

    def _audited(self, raw: dict[str, Any]) -> Iterator[RemoteDevice | KnownDevice]:
        uid, cls = str(raw["uid"]), audit_class(raw) or "device"
        self.audit_limiter.acquire()
        try:
            audit = prune_audit(self.device_audit(uid, cls), cls)
        except (ConnectorFatalError, SkippableRecordError) as exc:
            # One unreadable audit costs that device its audit values, never the device or the run.
            self.audits_failed += 1
            self.field_issues.note("device", uid, [DroppedField("audit", "unreadable", exc.message[:120])])
            cached = self.audit_cache.get(uid)
            yield from self._converted({**raw, "audit": cached["audit"]} if cached else raw)
            return
        self.audits_fetched += 1
        self.audit_cache[uid] = {"at": raw.get("lastAuditDate"), "class": cls, "audit": audit}
        self.audit_cache_changed = True
        yield from self._converted({**raw, "audit": audit})

    def _converted(self, raw: Any) -> Iterator[RemoteDevice | KnownDevice]:
        try:
            yield self._device(raw)
        except SkippableRecordError as exc:
            self.note_skipped(exc.message)

    def iter_site_devices(self, site_uid: str) -> Iterator[RemoteDevice]:
        """The devices of one site (GET /v2/site/{uid}/devices), without audits."""
        return self._stream(const.SITE_DEVICES.format(site_uid=site_uid), "devices",
                            lambda raw: normalize_device(raw, self.field_issues))

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
        alerts = self._stream(path, "alerts", self._alert)
        if since is None:
            return alerts
        cutoff = since

        def after_cutoff(alert: RemoteAlert) -> bool:
            when = alert.resolved_at if state is AlertState.RESOLVED else alert.raised_at
            return when is None or when >= cutoff

        return (a for a in alerts if after_cutoff(a))

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
