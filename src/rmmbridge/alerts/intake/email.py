"""Parse any RFC 5322 message robustly into the parts the e-mail rules need; never raises on bad input."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr

#: Bodies longer than this are cut (the raw message is kept whole in the AlertEvent).
MAX_BODY_CHARS = 200_000
MAX_PARTS = 200


@dataclass(frozen=True)
class ParsedEmail:
    """What the rules match on. `problems` lists what was odd about the message (kept with the event)."""

    message_id: str
    from_address: str
    from_name: str
    subject: str
    body: str
    headers: dict[str, str]
    problems: tuple[str, ...] = field(default=())


def _raw_8bit(text: str) -> str | None:
    """Undeclared 8-bit header bytes (kept as surrogates by the parser): UTF-8 if valid, else Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return None
    raw = text.encode("utf-8", errors="surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _decode_header_value(value: object) -> str:
    text = str(value or "")
    eight_bit = _raw_8bit(text)
    if eight_bit is not None:
        return eight_bit
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, UnicodeDecodeError, ValueError, TypeError, AssertionError):
        parts: list[str] = []
        for chunk, charset in decode_header(text):
            if isinstance(chunk, bytes):
                parts.append(chunk.decode(_safe_charset(charset), errors="replace"))
            else:
                parts.append(chunk)
        return "".join(parts)


def _safe_charset(charset: str | None) -> str:
    if not charset:
        return "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "latin-1"
    return charset


_UNFOLD = re.compile(r"\r?\n[ \t]+")
_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6])\b[^>]*>")
_DROP = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>")


def html_to_text(markup: str) -> str:
    """A plain-text rendering of an HTML body: tags dropped, line breaks kept, entities decoded."""
    text = _DROP.sub(" ", markup)
    text = _BLOCK.sub("\n", text)
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _part_text(part: Message, problems: list[str]) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError) as exc:
        problems.append(f"undecodable body part: {exc}")
        return ""
    if payload is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    declared = part.get_content_charset() or "utf-8"
    charset = _safe_charset(declared)
    if charset != declared:
        problems.append(f"unknown charset {declared!r}; read as latin-1")
    try:
        return payload.decode(charset)
    except UnicodeDecodeError:
        problems.append(f"body is not valid {declared}; undecodable bytes replaced")
        return payload.decode(charset, errors="replace")


def _body(msg: Message, problems: list[str]) -> str:
    plain: list[str] = []
    htmls: list[str] = []
    parts = list(msg.walk()) if msg.is_multipart() else [msg]
    if len(parts) > MAX_PARTS:
        problems.append(f"{len(parts)} MIME parts; only the first {MAX_PARTS} read")
        parts = parts[:MAX_PARTS]
    for part in parts:
        if part.is_multipart():
            continue
        if (part.get_content_disposition() or "") == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            plain.append(_part_text(part, problems))
        elif ctype == "text/html":
            htmls.append(_part_text(part, problems))
    if plain:
        text = "\n".join(plain)
    elif htmls:
        text = html_to_text("\n".join(htmls))
    else:
        text = ""
        problems.append("no text or HTML body")
    if len(text) > MAX_BODY_CHARS:
        problems.append(f"body of {len(text)} characters cut to {MAX_BODY_CHARS}")
        text = text[:MAX_BODY_CHARS]
    return text


def derive_message_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID: a hash of its bytes (the same mail gives the same id)."""
    return "<sha256-" + hashlib.sha256(raw.replace(b"\r\n", b"\n").strip()).hexdigest()[:40] + "@rmmbridge>"


def parse_email(raw: bytes) -> ParsedEmail:
    """Parse raw message bytes; odd encodings are decoded as well as possible and reported in `problems`."""
    problems: list[str] = []
    msg = message_from_bytes(raw, policy=policy.compat32)
    if msg.defects:
        problems.extend(f"defect: {type(d).__name__}" for d in msg.defects[:5])
    headers: dict[str, str] = {}
    for name, value in list(msg.raw_items())[:200]:
        key = name.lower()
        decoded = _decode_header_value(_UNFOLD.sub(" ", str(value)))
        headers[key] = f"{headers[key]}\n{decoded}" if key in headers else decoded
    message_id = " ".join(headers.get("message-id", "").split())[:255]
    if not message_id:
        message_id = derive_message_id(raw)
        problems.append("no Message-ID; a hash of the message is used instead")
    from_header = headers.get("from", "")
    name, address = parseaddr(from_header)
    if not address:
        addresses = getaddresses([from_header])
        address = addresses[0][1] if addresses else ""
    if not address:
        problems.append("no valid From address")
    subject = " ".join(headers.get("subject", "").split())
    if not subject:
        problems.append("no subject")
    body = _body(msg, problems)
    return ParsedEmail(
        message_id=message_id,
        from_address=address.strip().lower(),
        from_name=name.strip(),
        subject=subject,
        body=body,
        headers=headers,
        problems=tuple(problems),
    )
