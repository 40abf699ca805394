"""Hostile e-mail: the HTML-to-text step is linear, each message's work is bounded, over SMTP and in the parser."""

from __future__ import annotations

import smtplib
import threading
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rmmbridge.alerts.intake.email import (
    MAX_BODY_CHARS,
    MAX_HEADER_CHARS,
    MAX_HTML_CHARS,
    ScanStats,
    html_to_text,
    parse_email,
)
from rmmbridge.alerts.intake.smtp import Delivery, SMTPReceiver
from rmmbridge.alerts.models import AlertEvent, EventStatus
from rmmbridge.tickets.models import Ticket

from .conftest import DATTO_FROM, datto_mail, make_desk

#: Inputs that made the old regex-based step (and html.parser, lxml and Lexbor) quadratic.
PATHOLOGICAL = {
    "lt_flood": "<",
    "open_tags_without_end": "<a",
    "end_tags_without_close": "</a",
    "unclosed_comments": "<!--",
    "declarations": "<!",
    "processing": "<?",
    "unclosed_scripts": "<script>",
    "unclosed_styles": "<style x",
    "block_tags": "<br ",
    "nested_divs": "<div>",
    "paragraphs": "<p>x",
    "unclosed_attribute": '<a href="',
    "entities": "&#x41;&amp;&",
    "huge_charrefs": "&#" + "9" * 50,
}


@pytest.mark.parametrize("shape", sorted(PATHOLOGICAL))
def test_html_to_text_reads_each_character_a_bounded_number_of_times(shape: str) -> None:
    """Linearity proof: the characters the scanner's searches read stay under 3 per input character."""
    for size in (1_000, 100_000, 400_000):
        markup = PATHOLOGICAL[shape] * (size // len(PATHOLOGICAL[shape]))
        stats = ScanStats()
        html_to_text(markup, stats)
        assert stats.read <= 3 * len(markup) + 10, (shape, size, stats.read)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(["<", ">", "</", "<!--", "-->", "<script>", "</script>", "<style>", "<br>", "<p>",
                                 "&amp;", "&#", "9", "x", " ", "\n", '"', "<!", "<?", "\ud800", "é"]),
                max_size=300))
def test_html_to_text_is_linear_and_never_raises_on_generated_markup(tokens: list[str]) -> None:
    markup = "".join(tokens)
    stats = ScanStats()
    text = html_to_text(markup, stats)
    assert stats.read <= 3 * len(markup) + 10
    assert "<script>" not in text


def test_html_to_text_keeps_the_text_people_read() -> None:
    markup = ("<html><head><title>t</title><style>p {color: red}</style></head><body>"
              "<p>Disk &amp; C:</p><div>9% &lt;free&gt;</div><!-- hidden --><SCRIPT>alert(1)</script >"
              "after<br>x < y &#65;&#99999999999;</body></html>")
    assert html_to_text(markup) == "Disk & C:\n9% <free>\nafter\nx < y A\ufffd"


def _html_mail(markup: str, subject: str, message_id: str, cte: str = "8bit") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Datto RMM <{DATTO_FROM}>"
    msg["To"] = "alerts@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg.set_content(markup, subtype="html", cte=cte)
    return msg.as_bytes(policy=SMTP)  # CRLF line ends, as on the wire


def test_an_over_cap_html_body_is_read_on_its_head_and_reported() -> None:
    markup = "<p>Device: HD-WS01</p>" + "<" * (MAX_HTML_CHARS * 3)
    parsed = parse_email(_html_mail(markup, "Alert on device: 10.0.0.5, reason Disk - Alert{big-1}", "<b@x>"))
    assert parsed.body.startswith("Device: HD-WS01")
    assert len(parsed.body) <= MAX_BODY_CHARS
    assert any("only the first" in p for p in parsed.problems)


def test_an_encoded_word_subject_is_bounded() -> None:
    words = "=?utf-8?q?Disk_full?= " * 80_000  # 1.7 MB of encoded words
    raw = f"From: {DATTO_FROM}\r\nSubject: {words}\r\nMessage-ID: <s@x>\r\n\r\nbody\r\n".encode()
    parsed = parse_email(raw)
    assert parsed.subject.startswith("Disk full")
    assert len(parsed.subject) <= MAX_HEADER_CHARS
    assert any("header subject of" in p for p in parsed.problems)


@pytest.mark.django_db(transaction=True)
def test_a_10_mb_html_mail_over_smtp_is_stored_whole_and_processed_on_its_head() -> None:
    desk = make_desk()
    hostile = _html_mail("<p>Device: HD-WS01</p>\n" + "<" * (10 * 1024 * 1024),
                         "Alert on device: 10.0.0.5, reason Disk C: below 10% free - Alert{huge-1}", "<huge-1@x>",
                         cte="base64")
    deliveries: list[Delivery] = []
    replies: dict[str, tuple[int, bytes]] = {}

    def send(name: str, raw: bytes) -> None:
        with smtplib.SMTP("127.0.0.1", receiver.port, timeout=60) as smtp:
            smtp.ehlo()
            smtp.mail(DATTO_FROM)
            smtp.rcpt("desk@example.com")
            replies[name] = smtp.data(raw)

    with SMTPReceiver("127.0.0.1", 0, on_delivery=deliveries.append) as receiver:
        senders = [threading.Thread(target=send, args=("hostile", hostile)),
                   threading.Thread(target=send, args=("normal", datto_mail("normal-1")))]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join(60)
    assert {name: code for name, (code, _text) in replies.items()} == {"hostile": 250, "normal": 250}
    big = AlertEvent.objects.get(message_id="<huge-1@x>")
    assert bytes(big.raw) == hostile  # stored whole
    assert big.status == EventStatus.PROCESSED
    assert "only the first" in big.reason
    assert Ticket.objects.filter(alert_key__in=["huge-1", "normal-1"]).count() == 2
    assert all(t.assets.get() == desk.asset for t in Ticket.objects.all())


@pytest.mark.parametrize("value", ["=??B?000000000?=", "=?utf-8?b?A?=", "=?x?q?=ZZ?="])
def test_an_undecodable_encoded_word_is_kept_as_written(value: str) -> None:
    """Found by the fuzz test: bad base64 in an encoded word raised HeaderParseError out of the parser."""
    parsed = parse_email(f"From: {value}\r\nSubject: {value}\r\n\r\nbody\r\n".encode())
    assert parsed.subject
    assert parsed.body.strip() == "body"
