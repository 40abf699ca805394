"""Redaction of secrets from text before it reaches a log."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"

_SENSITIVE_PARAMS = re.compile(
    r"(?i)(\"?(?:access_token|refresh_token|id_token|client_secret|api_secret|api_key|password|secret|"
    r"token|authorization|x-api-key)\"?\s*[:=]\s*\"?)([^\"&\s,}]+)"
)
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret value, bearer/basic credential and key=value secret with ***."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SENSITIVE_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
