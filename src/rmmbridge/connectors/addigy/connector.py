"""The Addigy connector: policies (as customers), devices with their facts and the v2 alert list; webhooks push too."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, ClassVar

import httpx

from rmmbridge.connectors.addigy import const
from rmmbridge.connectors.addigy.client import AddigyClient
from rmmbridge.connectors.addigy.credentials import AddigyCredentials
from rmmbridge.connectors.addigy.normalize import (
    account_from,
    account_from_whoami,
    parse_item,
    to_alert,
    to_customer,
    to_device,
)
from rmmbridge.connectors.addigy.schemas import AddigyAlert, DeviceAudit, Policy
from rmmbridge.connectors.base import NORMALIZED_FIELDS, Capability, Connector
from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import ConnectorForbiddenError, SkippableRecordError
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
)

logger = logging.getLogger("rmmbridge.connectors.addigy")

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

    Alerts: polled from the v2 alert list (the backstop) and pushed by event webhooks (alerts.py). No resolve call
    could be verified, so closing a ticket does not resolve the alert in Addigy.
    """

    slug: ClassVar[str] = const.SLUG
    name: ClassVar[str] = const.NAME
    credentials_model: ClassVar[type[CredentialSpec]] = AddigyCredentials
    capabilities: ClassVar[frozenset[Capability]] = frozenset({
        Capability.CUSTOMERS,
        Capability.DEVICES,
        Capability.ALERTS_POLL,
        Capability.WEBHOOKS,
    })
    rate_limit_per_minute: ClassVar[int | None] = const.RATE_LIMIT_PER_MINUTE
    base_url_key: ClassVar[str] = "api_url"
    id_keys: ClassVar[tuple[str, ...]] = parse_item.id_keys

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        super().__init__(credentials, http, redactor=redactor)
        if not isinstance(credentials, AddigyCredentials):
            raise TypeError("AddigyConnector needs AddigyCredentials")
        self.addigy_credentials = credentials
        self.client = AddigyClient(http, credentials)
        self.page_size = const.PAGE_SIZE

    def account_info(self) -> AccountInfo:
        """`GET /configuration/whoami` names the organization; a key without that permission (403), or an answer
        without the organization id, falls back to the first policy's `orgid`."""
        try:
            return account_from_whoami(self.client.get(const.WHOAMI), self.addigy_credentials.api_url)
        except (ConnectorForbiddenError, SkippableRecordError) as exc:
            logger.info("Addigy whoami gave no organization (%s); naming it from the policies.", exc.message)
            return account_from(self.client.list_all(const.POLICIES_QUERY), self.addigy_credentials.api_url)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        """Every policy, child policies included (`parent` names the parent policy): one unpaged query answered
        with a bare array."""
        self._require(Capability.CUSTOMERS)

        def pages() -> Iterator[list[Any]]:  # one unpaged answer, asked for when the first policy is read
            yield self.client.list_all(const.POLICIES_QUERY)

        return self.stream(pages(), Policy, "policy", to_customer)

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        """The v2 alert list: open = Unattended and Acknowledged; resolved = Resolved, newest first, created within
        RESOLVED_LOOKBACK_DAYS before `since` (the list does not date the resolution), at most RESOLVED_MAX_PAGES."""
        self._require(Capability.ALERTS_POLL)
        resolved = state is AlertState.RESOLVED
        statuses = [const.ALERT_STATUS_RESOLVED] if resolved else list(const.ALERT_STATUS_OPEN)
        # addigyctl (checked against a live tenant): "asc" returns the newest first on this endpoint.
        body: dict[str, Any] = {"sort_field": "created_date", "sort_direction": "asc",
                                "query": {"statuses": statuses}}
        floor = since - timedelta(days=const.RESOLVED_LOOKBACK_DAYS) if (resolved and since) else None

        def convert(alert: AddigyAlert, raw: Mapping[str, Any]) -> RemoteAlert | None:
            remote = to_alert(alert, raw)
            if floor is not None and remote.raised_at is not None and remote.raised_at < floor:
                return None
            return remote

        pages = self.client.iter_alert_pages(body, floor=floor,
                                             max_pages=const.RESOLVED_MAX_PAGES if resolved else None)
        return self.stream(pages, AddigyAlert, "alert", convert)

    def iter_devices(self) -> Iterator[RemoteDevice]:
        """Every device with the facts in const.DESIRED_FACTS, sorted by agent id so paging is stable."""
        self._require(Capability.DEVICES)
        body: dict[str, Any] = {
            "desired_fact_identifiers": list(const.DESIRED_FACTS),
            "query": {},
            "sort_field": "agentid",
            "sort_direction": "asc",
        }
        return self.stream(self.client.iter_pages(const.DEVICES, body, per_page=self.page_size), DeviceAudit,
                           "device", to_device)

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        mobile = MOBILE_FIELDS if device_type in (None, DeviceType.MOBILE) else ()
        return field_list(NORMALIZED_FIELDS, ((p, f"Addigy: {label}") for p, label in (*ADDIGY_FIELDS, *mobile)))
