"""The Addigy connector: policies (as customers) and devices with their facts over API v2; alerts arrive by webhook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

import httpx

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.client import AddigyClient
from rmmbridge.connectors.addigy.credentials import AddigyCredentials
from rmmbridge.connectors.addigy.normalize import account_from, normalize_device, normalize_policy
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import SkippableRecordError
from rmmbridge.connectors.http import Redactor
from rmmbridge.connectors.records import AccountInfo, AvailableField, DeviceType, RemoteCustomer, RemoteDevice

T = TypeVar("T")

#: Facts worth offering on the mapping screens (every other flattened field is mappable too).
ADDIGY_FIELDS: tuple[tuple[str, str], ...] = (
    ("agentid", "Agent ID"),
    ("orgid", "Organization ID"),
    ("audit_date", "Audit date"),
    ("facts.policy_id", "Policy ID"),
    ("facts.hardware_model", "Hardware model"),
    ("facts.device_model_name", "Model name"),
    ("facts.product_name", "Product name"),
    ("facts.os_platform", "OS platform"),
    ("facts.os_version", "OS version"),
    ("facts.processor_type", "Processor"),
    ("facts.total_memory_gb", "Memory (GB)"),
    ("facts.total_disk_space_gb", "Disk size (GB)"),
    ("facts.free_disk_percentage", "Free disk (%)"),
    ("facts.filevault_enabled", "FileVault enabled"),
    ("facts.firewall_enabled", "Firewall enabled"),
    ("facts.warranty_expiration_date", "Warranty expiration date"),
    ("facts.registration_date", "Registration date"),
    ("facts.agent_version", "Agent version"),
    ("facts.local_ip", "Local IP"),
    ("facts.client_ip", "Public IP"),
    ("facts.udid", "UDID"),
)
MOBILE_FIELDS: tuple[tuple[str, str], ...] = (("facts.imei", "IMEI"), ("facts.phone_number", "Phone number"))


class AddigyConnector(Connector):
    """Addigy API v2 (`https://api.addigy.com/api/v2`): policies → customers, device audits → devices.

    Alerts: the v2 API publishes no alert list or resolve call, so they come in by webhook (alerts.py).
    """

    slug: ClassVar[str] = const.SLUG
    name: ClassVar[str] = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = AddigyCredentials
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.CUSTOMERS,
        Capability.DEVICES,
        Capability.WEBHOOKS,
    })
    rate_limit_per_minute: ClassVar[int | None] = const.RATE_LIMIT_PER_MINUTE
    base_url_key: ClassVar[str] = "api_url"

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, AddigyCredentials):
            raise TypeError("AddigyConnector needs AddigyCredentials")
        self.addigy_credentials = credentials
        self.client = AddigyClient(http, credentials)
        self.page_size = const.PAGE_SIZE

    def account_info(self) -> AccountInfo:
        """The cheapest authenticated call: the first policy (its `orgid` names the organization)."""
        page = self.client.query(const.POLICIES_QUERY, {"page": 1, "per_page": 1})
        items = page.get("items") if isinstance(page, dict) else None
        return account_from(items if isinstance(items, list) else [], self.addigy_credentials.api_url)

    def _stream(self, path: str, body: dict[str, Any], convert: Callable[[Any], T]) -> Iterator[T]:
        for items in self.client.iter_pages(path, body, per_page=self.page_size):
            for raw in items:
                try:
                    yield convert(raw)
                except SkippableRecordError as exc:
                    self.note_skipped(exc.message)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """Every policy, child policies included (`parent` names the parent policy)."""
        self._require(Capability.CUSTOMERS)
        return self._stream(const.POLICIES_QUERY, {}, normalize_policy)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Every device with the facts in const.DESIRED_FACTS, sorted by agent id so paging is stable."""
        self._require(Capability.DEVICES)
        body: dict[str, Any] = {
            "desired_fact_identifiers": list(const.DESIRED_FACTS),
            "query": {},
            "sort_field": "agentid",
            "sort_direction": "asc",
        }
        return self._stream(const.DEVICES, body, normalize_device)

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        fields = [AvailableField(path=p, label=label) for p, label in NORMALIZED_FIELDS]
        fields += [AvailableField(path=p, label=f"Addigy: {label}") for p, label in ADDIGY_FIELDS]
        if device_type in (None, DeviceType.MOBILE):
            fields += [AvailableField(path=p, label=f"Addigy: {label}") for p, label in MOBILE_FIELDS]
        return fields
