"""Connector exceptions, named by what the caller must do.

ConnectorError
├── ConnectorConfigError      – the credentials or URL are malformed: fix the configuration; do not retry
├── ConnectorAuthError        – 401 / invalid grant: re-enter credentials; do not retry (needs re-authentication)
│   └── ConnectorForbiddenError – 403: grant the API user the missing permission; do not retry
├── ConnectorRetryableError   – 429, 5xx, timeouts, dropped connections: retry later with backoff
│   ├── ConnectorRateLimitedError – 429; `retry_after` seconds when the vendor said so
│   └── ConnectorUnavailableError – cannot connect / 5xx after the client's own retries
├── ConnectorFatalError       – other 4xx, unexpected payloads, repeated page tokens: fail the run, report
├── UnsupportedCapabilityError – the vendor's API cannot do this (e.g. resolve an alert): show it, don't call
├── SkippableRecordError      – one malformed item in a page: count it, log it, continue
└── WebhookTestDelivery       – a webhook test fire (placeholders unreplaced): acknowledge, record as a test, no ticket
"""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector exception; `key` is the stable error key shown to admins."""

    key = "unknown"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class ConnectorConfigError(ConnectorError):
    """The credentials or settings are malformed; fix them before trying again."""

    key = "invalid_config"


class ConnectorAuthError(ConnectorError):
    """The RMM rejected the credentials; the integration needs re-authentication."""

    key = "invalid_auth"


class ConnectorForbiddenError(ConnectorAuthError):
    """The credentials are valid but lack a permission; grant it in the RMM."""

    key = "forbidden"


class ConnectorRetryableError(ConnectorError):
    """A passing failure; retry later with backoff."""

    key = "cannot_connect"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class ConnectorRateLimitedError(ConnectorRetryableError):
    """The RMM's rate limit was hit; wait `retry_after` seconds."""

    key = "rate_limited"


class ConnectorUnavailableError(ConnectorRetryableError):
    """The RMM cannot be reached or keeps failing with 5xx."""

    key = "cannot_connect"


class ConnectorFatalError(ConnectorError):
    """The RMM answered something we cannot use; fail the run and report it."""

    key = "unknown"


class UnsupportedCapabilityError(ConnectorError):
    """The vendor's API does not offer this operation."""

    key = "unsupported"


class SkippableRecordError(ConnectorError):
    """One record in a page is malformed; skip it and count it."""

    key = "malformed_record"


class IgnorableEventError(ConnectorError):
    """A pushed event is understood but is not an alert: record it as ignored with this reason (no ticket)."""

    key = "not_an_alert"


class WebhookTestDelivery(ConnectorError):
    """A webhook body that is a vendor's test fire (e.g. `[alert_uid]` unreplaced): answer 200, make no ticket."""

    key = "test_delivery"


class UnknownConnectorError(ConnectorConfigError):
    """No connector is registered under this slug."""

    key = "unknown_vendor"
