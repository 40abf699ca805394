"""The Connector base class: declared credentials and capabilities, test_connection, streamed iterators."""

from __future__ import annotations

import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel

from rmmbridge.connectors.credentials import CredentialSpec
from rmmbridge.connectors.errors import (
    ConnectorAuthError,
    ConnectorConfigError,
    ConnectorError,
    ConnectorForbiddenError,
    ConnectorRetryableError,
    SkippableRecordError,
    UnsupportedCapabilityError,
)
from rmmbridge.connectors.http.redaction import Redactor
from rmmbridge.connectors.items import FieldIssues, collecting, validate_item
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
    RemoteUser,
)

logger = logging.getLogger("rmmbridge.connectors")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")
#: The record iterators whose validated items are counted in the connector's field_issues, whatever loop reads them.
ITERATORS: tuple[str, ...] = ("iter_customers", "iter_sites", "iter_users", "iter_devices", "iter_alerts")


def _counting(method: Callable[..., Iterable[Any]]) -> Callable[..., Iterator[Any]]:
    """Wrap an iter_* method so items validated while it runs count on its connector (the call itself stays eager,
    so a capability error is still raised when the method is called)."""

    @functools.wraps(method)
    def wrapper(self: Connector, *args: Any, **kwargs: Any) -> Iterator[Any]:
        result = method(self, *args, **kwargs)
        return collecting(result, self.field_issues)

    wrapper.__rmm_counting__ = True  # type: ignore[attr-defined]
    return wrapper


class Capability(StrEnum):
    """What a connector can do; the UI and the sync engine only offer what is declared."""

    CUSTOMERS = "customers"
    SITES = "sites"
    USERS = "users"
    DEVICES = "devices"
    ALERTS_POLL = "alerts_poll"
    ALERT_RESOLVE = "alert_resolve"
    WEBHOOKS = "webhooks"
    ALERT_EMAIL = "alert_email"


@dataclass(frozen=True, slots=True)
class ConnectionTestResult:
    """Outcome of test_connection: the account, or an error key and a message for a person."""

    ok: bool
    message: str
    account: AccountInfo | None = None
    error_key: str | None = None


def describe_error(exc: ConnectorError) -> tuple[str, str]:
    """Map a connector exception to (error key, Halo-style message), e.g. 'Validation failed – 401 Unauthorized'."""
    if isinstance(exc, ConnectorForbiddenError):
        return "forbidden", f"Validation failed – 403 Forbidden: {exc.message}"
    if isinstance(exc, ConnectorAuthError):
        return "invalid_auth", f"Validation failed – 401 Unauthorized: {exc.message}"
    if isinstance(exc, ConnectorConfigError):
        return "invalid_config", f"Validation failed – {exc.message}"
    if isinstance(exc, ConnectorRetryableError):
        return "cannot_connect", f"Validation failed – cannot connect: {exc.message}"
    return "unknown", f"Validation failed – {exc.message}"


class Connector(ABC):
    """One RMM vendor's API, normalized. Pure Python: receives its httpx client, never imports Django.

    Iterators stream page by page through `stream`: an item without a usable id or name is skipped and counted in
    `skipped_records`; a null or odd optional field is left out of the record and counted in `field_issues`.
    """

    slug: ClassVar[str]
    name: ClassVar[str]
    credentials_model: ClassVar[type[CredentialSpec]]
    capabilities: ClassVar[frozenset[Capability]]
    #: True for vendors whose sites are the customers (Datto RMM): the sync treats each site as a customer.
    sites_are_customers: ClassVar[bool] = False
    #: Requests per minute the vendor publishes (client-side limiter); None when unpublished.
    rate_limit_per_minute: ClassVar[int | None] = None
    #: The credential field holding the API base URL (Datto RMM "api_url", NinjaOne "instance_url").
    base_url_key: ClassVar[str] = "api_url"
    #: Keys naming an item in skip messages ("NinjaOne device 12 skipped – …").
    id_keys: ClassVar[tuple[str, ...]] = ("id",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ITERATORS:
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, "__rmm_counting__", False):
                setattr(cls, name, _counting(method))

    def __init__(self, credentials: CredentialSpec, http: httpx.Client, *, redactor: Redactor | None = None) -> None:
        self.credentials = credentials
        self.http = http
        #: Secret values of this connection; add every token obtained so logs never show it.
        self.redactor = redactor if redactor is not None else Redactor(credentials.secret_values())
        self.skipped_records = 0
        self.skipped_messages: list[str] = []
        #: Optional fields left out of otherwise good records, per record kind ("ipAddresses (null)").
        self.field_issues = FieldIssues()
        #: Set by the sync for one device stream: recognise unchanged devices before normalising them.
        self.raw_check: RawCheck | None = None

    @classmethod
    def base_url_from(cls, credentials: CredentialSpec) -> str:
        """The API base URL from the vendor's URL credential, without a trailing slash."""
        value = getattr(credentials, cls.base_url_key, None)
        if not isinstance(value, str) or not value:
            raise ConnectorConfigError(f"{cls.name}: the API URL ({cls.base_url_key}) is missing.")
        return value.rstrip("/")

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore what this connector kept from earlier runs (integrations.connect stores it; default: nothing)."""
        return None

    def dump_state(self) -> dict[str, Any] | None:
        """JSON-able state to keep for the next run (e.g. Datto RMM's audit cache); None = unchanged, keep as is."""
        return None

    def progress_note(self) -> tuple[str, int, int] | None:
        """(stage, done, total) of a long fetch step the sync should show instead of its count (e.g. audits)."""
        return None

    def raw_keys(self, paths: Sequence[str]) -> tuple[str, ...] | None:
        """The raw device item's top-level keys holding everything that `paths` (normalized attributes such as
        `hostname`, vendor field paths such as `udf.udf1` or `fields.udf.udf1`) read, for `RawCheck`; None when this
        connector cannot say (then every device is normalised, the default)."""
        return None

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    def _require(self, capability: Capability) -> None:
        if capability not in self.capabilities:
            raise UnsupportedCapabilityError(f"{self.name} does not support {capability.value} through its API.")

    def note_skipped(self, message: str) -> None:
        """Count one malformed record (kept to the first 100 messages)."""
        self.skipped_records += 1
        if len(self.skipped_messages) < 100:
            self.skipped_messages.append(message)

    def skip(self, exc: SkippableRecordError) -> None:
        """Log and count one item that could not be read."""
        logger.warning("%s", exc.message)
        self.note_skipped(exc.message)

    def parse(self, model: type[M], raw: Any, what: str, *, id_keys: Sequence[str] | None = None) -> M:
        """Validate one vendor item leniently (see items.validate_item), counting dropped fields on this connector."""
        return validate_item(model, raw, what, vendor=self.name, id_keys=id_keys or self.id_keys,
                             issues=self.field_issues)

    def stream(
        self,
        pages: Iterable[Iterable[Any]],
        model: type[M],
        what: str,
        convert: Callable[[M, Mapping[str, Any]], R | None],
        *,
        id_keys: Sequence[str] | None = None,
        before: Callable[[Any], R | None] | None = None,
    ) -> Iterator[R]:
        """The item loop every vendor uses: page → item → validate → convert, skipping and counting bad items.

        ``pages`` yields lists of raw items (one list for an unpaged answer); ``convert`` gets the parsed model
        and the raw item and returns the record, or None to leave the item out (e.g. technicians among users).
        A SkippableRecordError raised by ``convert`` (no name, say) skips that item too. ``before`` sees the raw
        item first: what it returns (not None) is yielded without validating the item (RawCheck's KnownDevice).
        """
        for page in pages:
            for raw in page:
                if before is not None and (known := before(raw)) is not None:
                    yield known
                    continue
                try:
                    record = convert(self.parse(model, raw, what, id_keys=id_keys), raw)
                except SkippableRecordError as exc:
                    self.skip(exc)
                    continue
                if record is not None:
                    yield record

    @abstractmethod
    def account_info(self) -> AccountInfo:
        """Call the cheapest authenticated endpoint and return the account; raise ConnectorError on failure."""

    def test_connection(self) -> ConnectionTestResult:
        """Prove the credentials: the account on success, else a fixed error key and a clear message."""
        try:
            account = self.account_info()
        except ConnectorError as exc:
            key, message = describe_error(exc)
            return ConnectionTestResult(ok=False, message=message, error_key=key)
        return ConnectionTestResult(ok=True, message=f"Connected to {account.display_name}.", account=account)

    def iter_customers(self) -> Iterator[RemoteCustomer]:
        self._require(Capability.CUSTOMERS)
        return iter(())

    def iter_sites(self) -> Iterator[RemoteSite]:
        self._require(Capability.SITES)
        return iter(())

    def iter_users(self) -> Iterator[RemoteUser]:
        self._require(Capability.USERS)
        return iter(())

    def iter_devices(self) -> Iterator[RemoteDevice]:
        self._require(Capability.DEVICES)
        return iter(())

    def iter_device_records(self, check: RawCheck | None) -> Iterator[RemoteDevice | KnownDevice]:
        """iter_devices for the sync; a connector with `raw_keys` yields a device unchanged since its last import
        (by the armed `check`) as a KnownDevice, without normalising it. Default: iter_devices."""
        return iter(self.iter_devices())

    def iter_alerts(self, state: AlertState = AlertState.OPEN, since: datetime | None = None) -> Iterator[RemoteAlert]:
        self._require(Capability.ALERTS_POLL)
        return iter(())

    def resolve_alert(self, external_id: str) -> None:
        self._require(Capability.ALERT_RESOLVE)

    def available_fields(self, device_type: DeviceType | None = None) -> list[AvailableField]:
        """Fields a mapping can read for this device type (normalized names and vendor dotted paths)."""
        return [AvailableField(path=p, label=label) for p, label in NORMALIZED_FIELDS]


NORMALIZED_FIELDS: tuple[tuple[str, str], ...] = (
    ("hostname", "Hostname"),
    ("serial_number", "Serial number"),
    ("os_name", "Operating system"),
    ("manufacturer", "Manufacturer"),
    ("model", "Model"),
    ("ip_addresses", "IP addresses"),
    ("mac_addresses", "MAC addresses"),
    ("last_logged_in_user", "Last logged-in user"),
    ("last_seen", "Last seen"),
    ("online", "Online"),
    ("device_type", "Device type"),
    ("vendor_type", "Vendor device type"),
)
