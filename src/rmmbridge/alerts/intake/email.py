"""Parse any RFC 5322 message robustly into the parts the e-mail rules need; never raises on bad input."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.errors import HeaderParseError
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


#: An undeclared 8-bit byte as the parser keeps it (a lone surrogate).
_SURROGATE_BYTE = re.compile("[\udc80-\udcff]")


def _raw_8bit(text: str) -> str | None:
    """Undeclared 8-bit header bytes (kept as surrogates by the parser): UTF-8 if valid, else Windows-1252."""
    if _SURROGATE_BYTE.search(text) is None:
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
    if "=?" not in text:  # no encoded word: decode_header gives the text back as one chunk, make_header the same
        return text
    try:
        return str(make_header(decode_header(text)))
    except (LookupError, UnicodeDecodeError, ValueError, TypeError, AssertionError, HeaderParseError):
        pass
    try:
        parts: list[str] = []
        for chunk, charset in decode_header(text):
            if isinstance(chunk, bytes):
                parts.append(chunk.decode(_safe_charset(charset), errors="replace"))
            else:
                parts.append(chunk)
        return "".join(parts)
    except (LookupError, ValueError, TypeError, AssertionError, HeaderParseError):
        return text  # an encoded word that cannot be decoded at all (bad base64): kept as written


def _safe_charset(charset: str | None) -> str:
    if not charset:
        return "utf-8"
    try:
        "".encode(charset)
    except LookupError:
        return "latin-1"
    return charset


_UNFOLD = re.compile(r"\r?\n[ \t]+")

#: HTML read for the text of a message (its head; the raw message is kept whole in the AlertEvent).
MAX_HTML_CHARS = 1_000_000
#: Each header value is cut to this many characters before its encoded words are decoded.
MAX_HEADER_CHARS = 16_384
MAX_HEADERS = 200

#: Tags that end a line of text.
BLOCK_TAGS = frozenset({
    "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "blockquote",
    "pre", "dt", "dd", "section", "article", "header", "footer", "address", "center",
})
#: Tags whose content is not text (skipped up to their end tag; without one, the rest of the body).
SKIPPED_TAGS = frozenset({"script", "style", "head", "template", "title", "noscript"})
_TAG_START = re.compile(r"<[A-Za-z/!?]")
_TAG_NAME = re.compile(r"/?([A-Za-z][A-Za-z0-9:-]{0,31})")
_END_TAG = {name: re.compile(rf"</{name}(?=[\s/>])", re.IGNORECASE) for name in SKIPPED_TAGS}
#: Numeric character references too long to name a character (int() of 5,000 digits is refused by Python).
_LONG_CHARREF = re.compile(r"&#(?:[xX]0*[0-9a-fA-F]{7,}|0*[0-9]{8,});?")


@dataclass
class ScanStats:
    """How many characters the HTML scanner's searches read (a linearity check: at most ~3 per input char)."""

    read: int = 0


def html_to_text(markup: str, stats: ScanStats | None = None, max_chars: int | None = None) -> str:
    """A plain-text rendering of an HTML body: tags dropped, line breaks kept, entities decoded.

    One forward pass, linear in the input whatever it holds: every search starts where the last one ended and
    the position only moves forward (an unterminated tag, comment or script drops the rest, as HTML5 does at
    end of file). Quotes inside tags are not tracked (a `>` in an attribute ends the tag), which keeps it linear.
    With `max_chars`, scanning stops once that much text is collected (the caller keeps only that much).
    """
    pieces: list[str] = []
    read = collected = 0
    limit = max_chars if max_chars is not None else len(markup) + 1
    i, n = 0, len(markup)
    while i < n and collected <= limit:
        start_tag = _TAG_START.search(markup, i)  # a '<' that starts no tag is text
        lt = start_tag.start() if start_tag is not None else -1
        read += (lt if lt >= 0 else n) - i
        if lt < 0:
            pieces.append(markup[i:])
            break
        if lt > i:
            pieces.append(markup[i:lt])
            collected += lt - i
        following = markup[lt + 1]
        if following in ("!", "?"):
            closer = "-->" if markup.startswith("<!--", lt) else ">"
            start = lt + (4 if closer == "-->" else 2)
            end = markup.find(closer, start)
            read += (end if end >= 0 else n) - start
            if end < 0:
                break  # an unterminated comment or declaration runs to the end
            i = end + len(closer)
        else:  # '/' or a letter: a start or end tag
            end = markup.find(">", lt + 1)
            read += (end if end >= 0 else n) - lt - 1
            if end < 0:
                break  # end of file inside a tag: the tag is dropped
            found = _TAG_NAME.match(markup, lt + 1)
            name = found[1].lower() if found else ""
            pieces.append("\n" if name in BLOCK_TAGS else " ")
            i = end + 1
            if following != "/" and name in SKIPPED_TAGS:
                closing = _END_TAG[name].search(markup, i)
                read += (closing.start() if closing else n) - i
                if closing is None:
                    break
                end = markup.find(">", closing.end())
                read += (end if end >= 0 else n) - closing.end()
                if end < 0:
                    break
                i = end + 1
    if stats is not None:
        stats.read += read
    text = html.unescape(_LONG_CHARREF.sub("\ufffd", "".join(pieces)))
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
        markup = "\n".join(htmls)
        if len(markup) > MAX_HTML_CHARS:
            problems.append(f"HTML body of {len(markup)} characters; only the first {MAX_HTML_CHARS} read")
            markup = markup[:MAX_HTML_CHARS]
        text = html_to_text(markup, max_chars=MAX_BODY_CHARS)
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
    for name, value in list(msg.raw_items())[:MAX_HEADERS]:
        key = name.lower()[:100]
        text = str(value)
        if len(text) > MAX_HEADER_CHARS:
            problems.append(f"header {key} of {len(text)} characters cut to {MAX_HEADER_CHARS}")
            text = text[:MAX_HEADER_CHARS]
        decoded = _decode_header_value(_UNFOLD.sub(" ", text))
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
