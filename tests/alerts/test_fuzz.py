"""Bounded fuzzing of alert intake: generated e-mails and webhook bodies never crash the parsers."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.alerts.intake.email import MAX_BODY_CHARS, MAX_HEADER_CHARS, parse_email
from rmmbridge.alerts.intake.webhooks import BodyRefused, check_body, parser_for
from rmmbridge.connectors.errors import ConnectorError
from rmmbridge.connectors.registry import REGISTRY

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

header_names = st.sampled_from(["From", "Subject", "Message-ID", "Content-Type", "Content-Transfer-Encoding",
                                "MIME-Version", "Authentication-Results", "X-Odd", "Date"])
header_values = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["=?utf-8?q?Disk_full?=", "=?bogus?b?////?=", "=?utf-8?b?not base64?=", "text/html",
                     'multipart/mixed; boundary="b"', "quoted-printable", "base64", "text/plain; charset=x-nope",
                     "<id@x>", "Datto <noreply@centrastage.net>", "dmarc=pass"]),
)
bodies = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.lists(st.sampled_from(["<", "<p>", "</", "<!--", "<script>", "&#", "9" * 12, "=\r\n", "--b\r\n",
                              "Content-Type: text/html\r\n\r\n", "x"]), max_size=80).map(lambda p: "".join(p).encode()),
)


@FUZZ
@given(st.lists(st.tuples(header_names, header_values), max_size=12), bodies)
def test_parse_email_never_raises_on_generated_mail(headers: list[tuple[str, str]], body: bytes) -> None:
    raw = b"".join(f"{name}: {value}\r\n".encode("utf-8", errors="surrogatepass") for name, value in headers)
    parsed = parse_email(raw + b"\r\n" + body)
    assert len(parsed.body) <= MAX_BODY_CHARS
    assert len(parsed.subject) <= MAX_HEADER_CHARS
    assert parsed.message_id


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5),
                            st.dictionaries(st.sampled_from(["alertUid", "deviceUid", "state", "message", "id",
                                                             "activityTime", "timestamp", "hostname", "status",
                                                             "type", "data", "x"]), inner, max_size=6)),
    max_leaves=30,
)
webhook_bodies = st.one_of(
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b"[" * 5000, b'{"a": ' + b"9" * 5000 + b"}", b'{"alertUid": "\\ud800"}', b"{", b"\xef\xbb\xbf{}",
                     b'{"alertUid": "a", "timestamp": 1e308}', b'{"alertUid": "a", "timestamp": "9999-99-99"}']),
)


@FUZZ
@given(webhook_bodies)
def test_every_vendor_webhook_parser_refuses_or_reads_generated_bodies(body: bytes) -> None:
    """Bounded reading first, then each vendor's parser: a clear refusal is fine, any other exception is a crash."""
    try:
        readable, _note = check_body(body)
    except BodyRefused:
        return
    headers: dict[str, Any] = {}
    for vendor in REGISTRY:
        try:
            parser_for(vendor)(readable, headers)
        except ConnectorError:
            continue
