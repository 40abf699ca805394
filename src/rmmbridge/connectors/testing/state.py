"""EmulatorState: the base every vendor emulator's state extends (estate, faults, tokens, alerts, resolve log).

Long because: it is the one base every vendor emulator's state extends (estate, faults, tokens, alerts, resolve
log); each part is small and they share the estate's lock."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from rmmbridge.connectors.testing.estate import (
    EmulatedAlert,
    EmulatedCustomer,
    EmulatedDevice,
    EmulatedSite,
    customer_name,
    device_hostname,
    draw_traits,
    index_from_uuid,
    minutes_before,
    rng_for,
    site_name,
    stable_uuid,
)
from rmmbridge.connectors.testing.faults import Fault, FaultQueue

#: Fields the control API accepts when adding or changing a device (vendor-neutral names).
DEVICE_FIELDS = frozenset({
    "hostname", "site_id", "kind", "os_name", "serial_number", "manufacturer", "model", "ip_address", "external_ip",
    "mac_address", "last_user", "online", "deleted", "parent_id", "udf", "extra", "last_seen",
})

#: Device kinds the control API accepts (records.DeviceType values).
DEVICE_KINDS = ("workstation", "laptop", "server", "network_device", "printer", "mobile", "virtual_machine", "other")


def _check_kind(fields: dict[str, Any]) -> None:
    kind = fields.get("kind")
    if kind is not None and kind not in DEVICE_KINDS:
        raise ValueError(f"Unknown device kind {kind!r}; use one of: {', '.join(DEVICE_KINDS)}.")


ALERT_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("online_offline_status", "High", "Device went offline"),
    ("perf_resource_usage", "Moderate", "CPU usage above 90% for 5 minutes"),
    ("eventlog", "High", "Event log: Application Error 1000 (app.exe crashed)"),
    ("antivirus", "Critical", "Antivirus threat quarantined: Trojan.GenericKD"),
    ("patch", "Low", "Patch installation failed: KB5034441"),
    ("comp_script", "Moderate", "Component 'Disk Cleanup' exited with code 1"),
)


class EmulatorState:
    """Deterministic estate from a seed, generated lazily so 100,000 devices cost almost no memory.

    Vendors subclass it, set the class variables, and render EmulatedDevice/EmulatedAlert in their own JSON.
    Changes made through the control API are stored as overrides; untouched devices are regenerated on demand.
    Thread-safe: the emulator serves from uvicorn's thread while tests change the state.
    """

    slug: ClassVar[str] = ""
    #: The credential key holding the URL (as in the vendor's CredentialSpec).
    url_key: ClassVar[str] = "api_url"
    #: Sites per customer (1 for Datto RMM, whose sites are the customers).
    sites_per_customer: ClassVar[int] = 1
    default_page_size: ClassVar[int] = 50
    max_page_size: ClassVar[int] = 250
    #: Requests per rolling minute before the emulator answers 429 (None = unlimited).
    rate_limit_per_minute: ClassVar[int | None] = None
    token_lifetime: ClassVar[float] = 3600.0
    #: Above this share of the limit each answer is delayed by `rate_limit_slowdown` seconds (None = never).
    rate_limit_slowdown_ratio: ClassVar[float | None] = None
    rate_limit_slowdown: ClassVar[float] = 1.0
    #: After this many requests refused with 429 in one window, refuse everything with 403 for
    #: `rate_limit_block_seconds` (None = never block).
    rate_limit_block_after: ClassVar[int | None] = None
    rate_limit_block_seconds: ClassVar[float] = 300.0

    def __init__(
        self,
        *,
        seed: int = 1,
        customers: int = 5,
        devices: int = 50,
        alerts: int = 5,
        faults: Iterable[str | Fault] = (),
        page_size: int | None = None,
        now: datetime | None = None,
    ) -> None:
        self.seed = seed
        self.customer_count = max(customers, 1)
        self.generated_devices = max(devices, 0)
        self.page_size = page_size
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.lock = threading.RLock()
        self.faults = FaultQueue()
        for fault in faults:
            self.faults.add(fault)
        self.credentials: dict[str, str] = self.default_credentials()
        self.tokens: dict[str, float] = {}
        self.request_count = 0
        self.requests_by_path: Counter[str] = Counter()
        self.resolve_calls: list[dict[str, Any]] = []
        self._recent: deque[float] = deque()
        self._refused: deque[float] = deque()
        self._blocked_until = 0.0
        self._device_overrides: dict[int, EmulatedDevice] = {}
        self._removed: set[int] = set()
        self._next_added = self.generated_devices
        self.customers = [self._make_customer(i) for i in range(self.customer_count)]
        self.sites = [
            self._make_site(c, j, c.index * self.sites_per_customer + j)
            for c in self.customers
            for j in range(self.sites_per_customer)
        ]
        self.alerts: dict[str, EmulatedAlert] = {}
        self._alert_counter = 0
        for k in range(max(alerts, 0)):
            self._seed_alert(k)

    # --- vendor hooks -------------------------------------------------------------------------------------------
    def default_credentials(self) -> dict[str, str]:
        """The credentials (without the URL) the emulator accepts; vendors override."""
        return {}

    def customer_id(self, index: int) -> str:
        return stable_uuid(self.seed, "customer", index)

    def site_id(self, index: int) -> str:
        return stable_uuid(self.seed, "site", index)

    def device_id(self, index: int) -> str:
        return stable_uuid(self.seed, "device", index)

    def device_index(self, device_id: str) -> int | None:
        """Reverse of device_id; None for ids this state never issued."""
        index = index_from_uuid(device_id, self.seed, "device")
        if index is None or self.device_id(index) != device_id:
            return None
        return index

    def alert_id(self, number: int) -> str:
        return stable_uuid(self.seed, "alert", number)

    def error_body(self, status: int, message: str, path: str) -> Any:
        """The vendor's JSON error body for a status; vendors override to match the real API."""
        return {"status": status, "error": message, "path": path}

    def alert_email(self, alert: EmulatedAlert) -> tuple[str, str, str]:
        """(from address, subject, plain-text body) of the vendor's alert e-mail."""
        device = self.get_device(alert.device_id)
        host = device.hostname if device else alert.device_id
        return ("alerts@rmm.example", f"Alert on {host}: {alert.message}", alert.message)

    def webhook_payload(self, alert: EmulatedAlert) -> dict[str, Any]:
        """The JSON the vendor POSTs for an alert; vendors override."""
        return {"alert_id": alert.id, "device_id": alert.device_id, "message": alert.message,
                "resolved": alert.resolved}

    def webhook_headers(self, body: bytes, secret: str | None) -> dict[str, str]:
        """Headers sent with a webhook; default: the shared secret in X-Webhook-Secret plus an HMAC-SHA256."""
        if not secret:
            return {}
        signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return {"X-Webhook-Secret": secret, "X-Webhook-Signature": f"sha256={signature}"}

    # --- credentials and tokens ---------------------------------------------------------------------------------
    def public_credentials(self, url: str) -> dict[str, str]:
        """The credentials a connector needs for this emulator, with the vendor's keys."""
        return {self.url_key: url, **self.credentials}

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_lifetime
        return token

    def token_valid(self, token: str) -> bool:
        with self.lock:
            expires = self.tokens.get(token)
            return expires is not None and time.monotonic() < expires

    def expire_tokens(self) -> int:
        """Make every issued token invalid (as after the vendor's token lifetime)."""
        with self.lock:
            count = len(self.tokens)
            self.tokens.clear()
            return count

    # --- requests, rate limit, faults ---------------------------------------------------------------------------
    def count_request(self, method: str, path: str) -> None:
        with self.lock:
            self.request_count += 1
            self.requests_by_path[f"{method} {path}"] += 1

    def rate_decision(self) -> tuple[str, float]:
        """The emulated rate limit for one more request: ("ok" | "slow" | "429" | "403", seconds).

        "slow": answer after the delay; "429": refuse, Retry-After seconds; "403": refuse, blocked this long.
        """
        limit = self.rate_limit_per_minute
        if not limit:
            return "ok", 0.0
        now = time.monotonic()
        with self.lock:
            if now < self._blocked_until:
                return "403", self._blocked_until - now
            while self._recent and now - self._recent[0] >= 60.0:
                self._recent.popleft()
            while self._refused and now - self._refused[0] >= 60.0:
                self._refused.popleft()
            if len(self._recent) >= limit:
                self._refused.append(now)
                if self.rate_limit_block_after is not None and len(self._refused) > self.rate_limit_block_after:
                    self._blocked_until = now + self.rate_limit_block_seconds
                    return "403", self.rate_limit_block_seconds
                return "429", max(60.0 - (now - self._recent[0]), 1.0)
            self._recent.append(now)
            ratio = self.rate_limit_slowdown_ratio
            if ratio is not None and len(self._recent) > ratio * limit:
                return "slow", self.rate_limit_slowdown
        return "ok", 0.0

    def requests_in_window(self) -> int:
        """Requests counted in the current rolling minute."""
        now = time.monotonic()
        with self.lock:
            return sum(1 for t in self._recent if now - t < 60.0)

    def take_fault(self, method: str, path: str, kinds: frozenset[str] | None = None) -> Fault | None:
        return self.faults.take(method, path, kinds)

    def effective_page_size(self, requested: int | None) -> int:
        size = requested or self.page_size or self.default_page_size
        if self.page_size:
            size = min(size, self.page_size)
        return max(1, min(size, self.max_page_size))

    # --- estate -------------------------------------------------------------------------------------------------
    def _make_customer(self, index: int) -> EmulatedCustomer:
        return EmulatedCustomer(id=self.customer_id(index), index=index, name=customer_name(self.seed, index))

    def _make_site(self, customer: EmulatedCustomer, nth: int, index: int) -> EmulatedSite:
        name = customer.name if self.sites_per_customer == 1 else site_name(self.seed, customer.name, nth)
        return EmulatedSite(id=self.site_id(index), index=index, name=name, customer_id=customer.id)

    def site_by_id(self, site_id: str) -> EmulatedSite | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def customer_by_id(self, customer_id: str) -> EmulatedCustomer | None:
        return next((c for c in self.customers if c.id == customer_id), None)

    def _generate_device(self, index: int) -> EmulatedDevice:
        traits = draw_traits(self.seed, index)
        site = self.sites[index % len(self.sites)]
        customer = self.customers[site.index // self.sites_per_customer]
        parent_id = None
        if traits.kind in ("printer", "network_device") and index >= len(self.sites):
            parent_id = self.device_id(index % len(self.sites))  # discovered by a device on the same site
        rng = rng_for(self.seed, "udf", index)
        return EmulatedDevice(
            id=self.device_id(index),
            index=index,
            hostname=device_hostname(customer.name, traits.kind, index),
            site_id=site.id,
            customer_id=customer.id,
            kind=traits.kind,
            os_name=traits.os_name,
            serial_number=traits.serial_number,
            manufacturer=traits.manufacturer,
            model=traits.model,
            ip_address=f"10.{site.index % 250}.{(index // 240) % 250}.{traits.ip_last_octet}",
            external_ip=f"203.0.113.{site.index % 250 + 1}",
            mac_address=traits.mac_address,
            last_user=traits.last_user,
            last_seen=minutes_before(self.now, traits.seen_minutes_ago),
            created_at=self.now - timedelta(days=traits.created_days_ago),
            online=traits.seen_minutes_ago < 10,
            deleted=traits.deleted,
            parent_id=parent_id,
            udf={"udf1": f"AT-{index:05d}", "udf2": rng.choice(("Finance", "Sales", "IT", "Operations", None))},
        )

    def device_count(self) -> int:
        with self.lock:
            return self._next_added - len(self._removed)

    def device_at(self, index: int) -> EmulatedDevice | None:
        """The device with this index (generated, changed or added), or None if removed or unknown."""
        with self.lock:
            if index in self._removed:
                return None
            override = self._device_overrides.get(index)
        if override is not None:
            return override
        if 0 <= index < self.generated_devices:
            return self._generate_device(index)
        return None

    def get_device(self, device_id: str) -> EmulatedDevice | None:
        index = self.device_index(device_id)
        return None if index is None else self.device_at(index)

    def iter_devices(self, start: int = 0) -> Iterator[EmulatedDevice]:
        """Every live device in index order, from the `start`-th live device on (cheap when nothing is removed)."""
        with self.lock:
            removed = sorted(self._removed)
            end = self._next_added
        if not removed:
            indices: Iterable[int] = range(start, end)
        else:
            gone = set(removed)
            indices = (i for n, i in enumerate(i for i in range(end) if i not in gone) if n >= start)
        for index in indices:
            device = self.device_at(index)
            if device is not None:
                yield device

    def page_of_devices(self, start: int, size: int, site_id: str | None = None) -> list[EmulatedDevice]:
        """`size` devices from the `start`-th (optionally only one site's)."""
        out: list[EmulatedDevice] = []
        if site_id is None:
            for device in self.iter_devices(start):
                out.append(device)
                if len(out) >= size:
                    break
            return out
        skipped = 0
        for device in self.iter_devices():
            if device.site_id != site_id:
                continue
            if skipped < start:
                skipped += 1
                continue
            out.append(device)
            if len(out) >= size:
                break
        return out

    def count_devices(self, site_id: str | None = None) -> int:
        if site_id is None:
            return self.device_count()
        return sum(1 for d in self.iter_devices() if d.site_id == site_id)

    def add_device(self, **fields: Any) -> EmulatedDevice:
        """Add a device; vendor-neutral fields (DEVICE_FIELDS), hostname required, site defaults to the first."""
        unknown = set(fields) - DEVICE_FIELDS
        if unknown:
            raise ValueError(f"Unknown device field(s) {sorted(unknown)}; use {sorted(DEVICE_FIELDS)}.")
        _check_kind(fields)
        hostname = fields.get("hostname")
        if not isinstance(hostname, str) or not hostname.strip():
            raise ValueError("A device needs a hostname.")
        site = self.site_by_id(str(fields.get("site_id") or self.sites[0].id))
        if site is None:
            raise ValueError(f"Unknown site_id {fields.get('site_id')!r}; see GET /_emulator/state for sites.")
        with self.lock:
            index = self._next_added
            self._next_added += 1
        base = self._generate_device(index % max(self.generated_devices, 1)) if self.generated_devices else None
        device = EmulatedDevice(
            id=self.device_id(index),
            index=index,
            hostname=hostname.strip(),
            site_id=site.id,
            customer_id=site.customer_id,
            kind=str(fields.get("kind") or "workstation"),
            os_name=str(fields.get("os_name") or (base.os_name if base else "Microsoft Windows 11 Pro")),
            serial_number=str(fields.get("serial_number") or f"EMU{index:07d}"),
            manufacturer=str(fields.get("manufacturer") or "Dell Inc."),
            model=str(fields.get("model") or "OptiPlex 7010"),
            ip_address=str(fields.get("ip_address") or f"10.99.{(index // 250) % 250}.{index % 250 + 1}"),
            external_ip=str(fields.get("external_ip") or "203.0.113.200"),
            mac_address=str(fields.get("mac_address") or f"02:00:00:{index >> 16 & 255:02X}:{index >> 8 & 255:02X}:"
                            f"{index & 255:02X}"),
            last_user=str(fields.get("last_user") or ""),
            last_seen=datetime.now(UTC).replace(microsecond=0),
            created_at=datetime.now(UTC).replace(microsecond=0),
            online=bool(fields.get("online", True)),
            deleted=bool(fields.get("deleted", False)),
            parent_id=fields.get("parent_id"),
            udf=dict(fields.get("udf") or {}),
            extra=dict(fields.get("extra") or {}),
        )
        with self.lock:
            self._device_overrides[index] = device
        return device

    def update_device(self, device_id: str, **changes: Any) -> EmulatedDevice:
        """Change a device's vendor-neutral fields; `udf` and `extra` are merged; raise KeyError when unknown."""
        unknown = set(changes) - DEVICE_FIELDS
        if unknown:
            raise ValueError(f"Unknown device field(s) {sorted(unknown)}; use {sorted(DEVICE_FIELDS)}.")
        _check_kind(changes)
        device = self.get_device(device_id)
        if device is None:
            raise KeyError(device_id)
        for key, value in changes.items():
            if key in ("udf", "extra"):
                getattr(device, key).update(value or {})
            elif key == "site_id":
                site = self.site_by_id(str(value))
                if site is None:
                    raise ValueError(f"Unknown site_id {value!r}.")
                device.site_id, device.customer_id = site.id, site.customer_id
            elif key == "last_seen" and isinstance(value, str):
                device.last_seen = datetime.fromisoformat(value)
            else:
                setattr(device, key, value)
        with self.lock:
            self._device_overrides[device.index] = device
        return device

    def remove_device(self, device_id: str) -> None:
        """Remove a device from every listing; raise KeyError when unknown."""
        index = self.device_index(device_id)
        if index is None or self.device_at(index) is None:
            raise KeyError(device_id)
        with self.lock:
            self._removed.add(index)
            self._device_overrides.pop(index, None)

    # --- alerts -------------------------------------------------------------------------------------------------
    def _seed_alert(self, k: int) -> None:
        if self.generated_devices == 0:
            return
        alert_type, priority, message = ALERT_TEMPLATES[k % len(ALERT_TEMPLATES)]
        device_index = (k * 7) % self.generated_devices
        raised = self.now - timedelta(minutes=5 + k * 13)
        self._store_alert(self.device_id(device_index), message, priority, alert_type, raised)

    def _store_alert(
        self, device_id: str, message: str, priority: str, alert_type: str, raised_at: datetime,
        context: dict[str, Any] | None = None,
    ) -> EmulatedAlert:
        with self.lock:
            self._alert_counter += 1
            alert = EmulatedAlert(
                id=self.alert_id(self._alert_counter), device_id=device_id, message=message, priority=priority,
                alert_type=alert_type, raised_at=raised_at, context=dict(context or {}),
            )
            self.alerts[alert.id] = alert
        return alert

    def raise_alert(
        self, device_id: str | None = None, *, message: str | None = None, priority: str | None = None,
        alert_type: str | None = None, context: dict[str, Any] | None = None,
    ) -> EmulatedAlert:
        """Raise a new open alert (on the first live device when none is named)."""
        if device_id is None:
            first = next(self.iter_devices(), None)
            if first is None:
                raise ValueError("The emulator has no devices to raise an alert on; add one first.")
            device_id = first.id
        elif self.get_device(device_id) is None:
            raise ValueError(f"Unknown device_id {device_id!r}.")
        template = ALERT_TEMPLATES[self._alert_counter % len(ALERT_TEMPLATES)]
        return self._store_alert(
            device_id, message or template[2], priority or template[1], alert_type or template[0],
            datetime.now(UTC).replace(microsecond=0), context,
        )

    def resolve_alert(self, alert_id: str, *, by: str = "emulator") -> EmulatedAlert:
        """Mark an alert resolved (as the RMM does itself); raise KeyError when unknown."""
        with self.lock:
            alert = self.alerts[alert_id]
            if not alert.resolved:
                alert.resolved = True
                alert.resolved_at = datetime.now(UTC).replace(microsecond=0)
                alert.resolved_by = by
        return alert

    def record_resolve_call(self, alert_id: str, method: str, path: str, status: int) -> None:
        """Log one resolve call received through the vendor API (read back with GET /_emulator/resolve-calls)."""
        with self.lock:
            self.resolve_calls.append({
                "alert_id": alert_id, "method": method, "path": path, "status": status,
                "at": datetime.now(UTC).isoformat(),
            })

    def open_alerts(self) -> list[EmulatedAlert]:
        with self.lock:
            return [a for a in self.alerts.values() if not a.resolved]

    def resolved_alerts(self) -> list[EmulatedAlert]:
        with self.lock:
            return [a for a in self.alerts.values() if a.resolved]

    def summary(self) -> dict[str, Any]:
        """What GET /_emulator/state returns."""
        with self.lock:
            return {
                "slug": self.slug,
                "seed": self.seed,
                "credentials": dict(self.credentials),
                "customers": [{"id": c.id, "name": c.name} for c in self.customers],
                "sites": [{"id": s.id, "name": s.name, "customer_id": s.customer_id} for s in self.sites],
                "device_count": self.device_count(),
                "alerts": [
                    {"id": a.id, "device_id": a.device_id, "message": a.message, "priority": a.priority,
                     "alert_type": a.alert_type, "resolved": a.resolved}
                    for a in self.alerts.values()
                ],
                "request_count": self.request_count,
                "requests_by_path": dict(self.requests_by_path),
                "resolve_calls": list(self.resolve_calls),
                "faults_pending": [f.spec for f in self.faults.pending()],
                "page_size": self.page_size,
            }
