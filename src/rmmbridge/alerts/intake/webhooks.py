"""Webhook intake: authenticate (token + shared secret or HMAC, constant time), bound the body, vendor parsers."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from rmmbridge.alerts.models import AlertingConfig, WebhookAuth
from rmmbridge.common.secrets import SecretDecryptError
from rmmbridge.connectors.datto_rmm.alerts import WEBHOOK_TEMPLATE
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.items import json_objects
from rmmbridge.connectors.records import AlertState as RemoteState
from rmmbridge.connectors.records import RemoteAlert

SECRET_HEADERS = ("x-webhook-secret", "x-rmmbridge-secret")
SIGNATURE_HEADERS = ("x-signature-256", "x-webhook-signature", "x-hub-signature-256", "x-signature")
#: With HMAC, a sender that can add a timestamp signs `<timestamp>.<body>` and sends the Unix time here; a
#: request older (or newer) than TIMESTAMP_TOLERANCE_SECONDS is refused, so a captured request cannot be replayed.
TIMESTAMP_HEADERS = ("x-signature-timestamp", "x-webhook-timestamp")
TIMESTAMP_TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 1_000_000
#: Bounded JSON: nesting depth, digits of one number, alerts in one request.
MAX_JSON_DEPTH = 32
MAX_NUMBER_CHARS = 40
MAX_ITEMS_PER_REQUEST = 100
#: A body identical to one already handled within this window is not processed again (replay protection for
#: senders that cannot sign a timestamp; a vendor's own retry of the same delivery is acknowledged too).
REPLAY_WINDOW_SECONDS = 24 * 3600
#: How a test fire's event reason starts (the endpoint answers it 200 instead of 202).
TEST_DELIVERY = "Test delivery"

#: The JSON to paste into Datto RMM's webhook body (alert triggered; "state": "resolved" for the resolved
#: payload), shown on the Alerting page and in docs/alerting.md; Datto's own parser is connectors.datto_rmm.alerts.
DATTO_TEMPLATE = WEBHOOK_TEMPLATE


def authenticate(config: AlertingConfig, body: bytes, headers: Mapping[str, str]) -> str | None:
    """None when the request is authentic, else why not (never says which part of a secret was wrong)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    if config.webhook_auth == WebhookAuth.TOKEN_ONLY:
        return None
    try:
        secret = config.webhook_secret.encode()
    except SecretDecryptError:
        return "the stored webhook secret cannot be decrypted (regenerate it on the Alerting page)"
    if not secret:
        return "no webhook secret is set (regenerate it on the Alerting page)"
    if config.webhook_auth == WebhookAuth.SHARED_SECRET:
        given = next((lowered[h] for h in SECRET_HEADERS if h in lowered), None)
        if given is None and lowered.get("authorization", "").lower().startswith("bearer "):
            given = lowered["authorization"][7:]
        if given is None:
            return "missing X-Webhook-Secret header"
        if not hmac.compare_digest(given.strip().encode(), secret):
            return "wrong shared secret"
        return None
    given = next((lowered[h] for h in SIGNATURE_HEADERS if h in lowered), None)
    if given is None:
        return "missing X-Signature-256 header"
    value = given.strip()
    if value.lower().startswith("sha256="):
        value = value[7:]
    stamp = next((lowered[h].strip() for h in TIMESTAMP_HEADERS if h in lowered), None)
    signed = body if stamp is None else stamp.encode() + b"." + body
    expected = hmac.new(secret, signed, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(value.lower().encode(), expected.encode()):
        return "bad signature"
    if stamp is not None:
        try:
            age = time.time() - float(stamp)
        except ValueError:
            return "the signature timestamp is not a Unix time"
        if abs(age) > TIMESTAMP_TOLERANCE_SECONDS:
            return (f"the signature timestamp is {abs(int(age))} s off (at most {TIMESTAMP_TOLERANCE_SECONDS} s); "
                    "sign the request again with the current time")
    return None


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The X-Signature-256 header value for `body` (for senders and tests); with `timestamp`, of `<ts>.<body>`."""
    signed = body if timestamp is None else str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def body_digest(body: bytes) -> str:
    """The digest a webhook event is known by for replay protection (kept in its `message_id`)."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


class BodyRefused(ValueError):
    """A webhook body outside the bounds (depth, numbers, items): answered with `http_status`, kept as rejected."""

    def __init__(self, message: str, http_status: int = 400) -> None:
        super().__init__(message)
        self.http_status = http_status


def _bounded_number(kind: type[int] | type[float]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if len(text) > MAX_NUMBER_CHARS:
            raise BodyRefused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS})")
        return kind(text)
    return parse


_SURROGATE = re.compile("[\ud800-\udfff]")


def _depth_and_clean(payload: Any) -> tuple[Any, int]:
    """The payload with lone surrogates replaced (U+FFFD), and how many were; refuses nesting past the bound."""
    replaced = 0

    def clean(text: str) -> str:
        nonlocal replaced
        fixed, count = _SURROGATE.subn("\ufffd", text)
        replaced += bool(count)
        return fixed

    def walk(value: Any, depth: int) -> Any:
        if depth > MAX_JSON_DEPTH:
            raise BodyRefused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str):
            return clean(value)
        if isinstance(value, list):
            return [walk(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {clean(str(k)): walk(v, depth + 1) for k, v in value.items()}
        return value

    return walk(payload, 1), replaced


def check_body(body: bytes) -> tuple[bytes, str]:
    """Bounded reading of a JSON webhook body before any parser sees it.

    Returns the body a parser may read (re-encoded only when lone surrogates were replaced) and a note about
    what was changed. Raises BodyRefused (400: too deep, a huge number, not UTF-8 or not JSON; 413: too many
    items). A body that is not JSON at all is left to the vendor's parser.
    """
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] not in (b"{", b"["):
        return body, ""
    try:
        payload = json.loads(body.decode("utf-8-sig"), parse_int=_bounded_number(int),
                             parse_float=_bounded_number(float))
    except BodyRefused:
        raise
    except RecursionError:
        raise BodyRefused(f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except UnicodeDecodeError as exc:
        raise BodyRefused(f"the body is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except ValueError as exc:
        raise BodyRefused(f"the body is not JSON ({exc})") from None
    if isinstance(payload, list) and len(payload) > MAX_ITEMS_PER_REQUEST:
        raise BodyRefused(f"the body holds {len(payload)} alerts; send at most {MAX_ITEMS_PER_REQUEST} per "
                          "request", http_status=413)
    cleaned, replaced = _depth_and_clean(payload)
    if not replaced:
        return body, ""
    note = f" {replaced} text value(s) held a lone surrogate (invalid Unicode), replaced by U+FFFD."
    return json.dumps(cleaned, ensure_ascii=False).encode("utf-8"), note


def _first(data: Mapping[str, Any], *names: str) -> str:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return str(value)
    return ""


def _truthy(value: object) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "resolved", "reset", "closed"}


def parse_generic(body: bytes, headers: Mapping[str, str] | None = None) -> list[RemoteAlert]:
    """Parse the documented JSON template (Datto RMM and any vendor without its own parser): one object or a list."""
    items = json_objects(body, template_from="docs/alerting.md", needs="'alertUid'")
    alerts: list[RemoteAlert] = []
    for item in items:
        info = item.get("alertSourceInfo")
        source: dict[str, Any] = info if isinstance(info, dict) else {}
        external_id = _first(item, "alertUid", "alert_uid", "alertuid", "alertId", "alert_id", "uid", "id")
        device = _first(item, "deviceUid", "device_uid", "deviceId", "device_id") or _first(source, "deviceUid")
        hostname = _first(item, "hostname", "device_hostname", "deviceName", "device") or _first(source, "deviceName")
        state_text = _first(item, "state", "status", "event")
        resolved = _truthy(item.get("resolved", False)) or _truthy(item.get("alert_resolved", False)) \
            or state_text.lower() in {"resolved", "reset", "closed"}
        message = _first(item, "message", "alert_message", "alertMessage", "diagnostics", "alert", "subject")
        if not external_id and not (device or hostname):
            raise ConnectorError("The webhook names no alert ('alertUid') and no device ('deviceUid' or 'hostname').")
        alerts.append(RemoteAlert(
            external_id=external_id,
            device_external_id=device or None,
            message=message,
            severity=_first(item, "priority", "severity", "alert_priority", "alert_category"),
            alert_type=_first(item, "alertType", "alert_type", "type", "alert_category"),
            state=RemoteState.RESOLVED if resolved else RemoteState.OPEN,
            hostname=hostname or None,
            raw={k: v for k, v in item.items() if isinstance(k, str)},
        ))
    return alerts


TIME_FIELDS = ("timestamp", "occurredAt", "occurred_at", "activityTime", "createdAt", "created", "alert_time", "time")


def occurred_at(raw: Mapping[str, Any]) -> datetime | None:
    """When the sender says the event happened (ISO 8601, or Unix seconds/milliseconds), if it says."""
    for name in TIME_FIELDS:
        value = raw.get(name)
        if value in (None, "") or isinstance(value, bool):
            continue
        try:
            if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
                number = float(value)
                return datetime.fromtimestamp(number / 1000 if number > 1e11 else number, tz=UTC)
            if isinstance(value, str) and len(value) <= 40:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except (ValueError, OverflowError, OSError):
            continue
    return None


Parser = Callable[[bytes, Mapping[str, str]], list[RemoteAlert]]


def parser_for(vendor: str) -> Parser:
    """The vendor's own `connectors.<slug>.alerts.parse_webhook`, else the documented generic template."""
    from rmmbridge.connectors.registry import manifest

    vendor_manifest = manifest(vendor)
    found = vendor_manifest.alert_hook("parse_webhook") if vendor_manifest is not None else None
    return found if found is not None else parse_generic
