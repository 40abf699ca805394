"""Redaction of secrets from text before it reaches a log, in every encoding a secret can take."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from functools import lru_cache

REDACTED = "***"
MIN_SECRET_LENGTH = 4  # shorter values would redact ordinary words
MAX_ENCODED_FACTOR = 12  # the longest form of one character: %F0%9F%98%80 or \ud83d\ude00
BASE64_USER_ALLOWANCE = 400  # base64 of `user:secret` also carries the user name (bounded for the log's window)

_SENSITIVE_PARAMS = re.compile(
    r"(?i)(\"?(?:access_token|refresh_token|id_token|client_secret|api_secret|api_key|password|secret|"
    r"token|authorization|x-api-key)\"?\s*[:=]\s*\"?)([^\"&\s,}]+)"
)
_BEARER = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+")
# a run of base64 (standard or URL-safe alphabet), padding possibly percent-encoded
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{8,}(?:={1,2}|(?:%3[Dd]){1,2})?")
_JSON_SHORT = {'"': '\\"', "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_XML_NAMED = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def _hex(text: str) -> str:
    """A regex for hex digits `text` in either case."""
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in text)


def _char_forms(char: str) -> list[str]:
    """Regex alternatives for one character of a secret: literal, percent-, JSON- and XML-encoded."""
    forms = [re.escape(char)]
    utf8 = char.encode("utf-8", errors="surrogatepass")
    forms.append("".join("%" + _hex(f"{b:02x}") for b in utf8))
    if char == " ":
        forms.append(r"\+")
    code = ord(char)
    if code > 0xFFFF:
        high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
        forms.append(re.escape("\\u") + _hex(f"{high:04x}") + re.escape("\\u") + _hex(f"{low:04x}"))
    else:
        forms.append(re.escape("\\u") + _hex(f"{code:04x}"))
    if char in _JSON_SHORT:
        forms.append(re.escape(_JSON_SHORT[char]))
    if char in _XML_NAMED:
        forms.append(re.escape(_XML_NAMED[char]))
    forms.append(f"&#0*{code};")
    forms.append("&#[xX]0*" + _hex(f"{code:x}") + ";")
    return forms


@lru_cache(maxsize=512)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """A regex matching `secret` with each character literal or encoded (mixed forms too)."""
    parts = []
    for char in secret:
        forms = _char_forms(char)
        parts.append(forms[0] if len(forms) == 1 else "(?:" + "|".join(forms) + ")")
    return re.compile("".join(parts))


def max_encoded_length(secret: str) -> int:
    """The most characters any encoded form of `secret` (including base64 of `user:secret`) can take."""
    utf8 = len(secret.encode("utf-8", "surrogatepass"))
    return max(len(secret) * MAX_ENCODED_FACTOR, (utf8 + BASE64_USER_ALLOWANCE) * 4 // 3 + 4)


def _b64_decode(run: str) -> bytes | None:
    text = run.replace("%3D", "=").replace("%3d", "=").rstrip("=")
    text = text + "=" * (-len(text) % 4)
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text)
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


@lru_cache(maxsize=512)
def base64_cores(secret: str) -> tuple[str, ...]:
    """The base64 text any encoding of data containing `secret` must contain (one per alignment, both alphabets)."""
    data = secret.encode("utf-8", "surrogatepass")
    cores: list[str] = []
    for offset, start in ((0, 0), (1, 2), (2, 3)):
        core = base64.b64encode(b"\0" * offset + data).decode()[start:((offset + len(data)) * 8) // 6]
        if len(core) >= 4:
            cores += [core, core.replace("+", "-").replace("/", "_")]
    return tuple(dict.fromkeys(cores))


def _redact_base64(text: str, secrets: list[str]) -> str:
    """Replace every base64 run whose decoded bytes contain a secret (e.g. Basic auth of `user:secret`)."""
    secrets = [s for s in secrets if any(core in text for core in base64_cores(s))]
    if not secrets:
        return text  # no base64 of any secret can be in the text: skip decoding every run
    encoded = [s.encode("utf-8", "surrogatepass") for s in secrets]

    def replace(match: re.Match[str]) -> str:
        run = match.group(0)
        for offset in range(4):  # the run may start with a few characters that are not part of the base64
            decoded = _b64_decode(run[offset:])
            if decoded is not None and any(s in decoded for s in encoded):
                return run[:offset] + REDACTED
        return run

    return _BASE64_RUN.sub(replace, text)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace every known secret (literal, JSON-escaped, percent-encoded, XML-escaped or inside base64),
    bearer/basic credential and key=value secret with ***."""
    known = sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
        # every encoded form holds at least one escape character: without one, only the literal could be there
        if "%" in text or "\\" in text or "&" in text or (" " in secret and "+" in text):
            text = secret_pattern(secret).sub(REDACTED, text)
    if known:
        text = _redact_base64(text, known)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _SENSITIVE_PARAMS.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
