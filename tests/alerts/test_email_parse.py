"""E-mail parsing: odd encodings, HTML only, quoted-printable, no Message-ID, wrong charset, huge, garbage."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from rmmbridge.alerts.intake.email import MAX_BODY_CHARS, derive_message_id, html_to_text, parse_email


def test_encoded_word_subject_and_from() -> None:
    raw = (b"From: =?utf-8?q?J=C3=BCrgen_RMM?= <Alerts@Datto.Example>\r\n"
           b"Subject: =?utf-8?b?QWxlcnQgb24gZGV2aWNlOiAxMC4wLjAuNSwgcmVhc29uIFRlbXDDqXJhdHVyZQ==?= - Alert{x1}\r\n"
           b"Message-ID: <a@b>\r\n\r\nbody\r\n")
    mail = parse_email(raw)
    assert mail.from_address == "alerts@datto.example"
    assert mail.from_name == "Jürgen RMM"
    assert mail.subject == "Alert on device: 10.0.0.5, reason Température - Alert{x1}"
    assert mail.message_id == "<a@b>"


def test_html_only_quoted_printable() -> None:
    raw = (b"From: a@b.example\r\nSubject: s\r\nMessage-ID: <q@p>\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"<html><head><style>p{}</style></head><body><p>Device: HD-WS01</p><p>Disk =E2=80=94 low&nbsp;space"
           b"</p></body></html>\r\n")
    mail = parse_email(raw)
    assert mail.body.splitlines() == ["Device: HD-WS01", "Disk — low space"]
    assert "p{}" not in mail.body


def test_no_message_id_gives_a_stable_hash() -> None:
    raw = b"From: a@b.example\r\nSubject: no id\r\n\r\nhello\r\n"
    first, second = parse_email(raw), parse_email(raw.replace(b"\r\n", b"\n"))
    assert first.message_id == second.message_id == derive_message_id(raw)
    assert first.message_id != parse_email(raw + b"x").message_id
    assert any("no Message-ID" in p for p in first.problems)


def test_wrong_and_unknown_charset_never_crash() -> None:
    wrong = (b"From: a@b.example\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
             b"caf\xe9 \xff\r\n")
    mail = parse_email(wrong)
    assert mail.body.startswith("caf")
    assert any("not valid utf-8" in p for p in mail.problems)
    unknown = b"From: a@b.example\r\nSubject: s\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\ncaf\xe9\r\n"
    mail = parse_email(unknown)
    assert mail.body.strip() == "café"
    assert any("unknown charset" in p for p in mail.problems)


def test_huge_body_is_cut_and_reported() -> None:
    raw = b"From: a@b.example\r\nSubject: big\r\n\r\n" + b"x" * (MAX_BODY_CHARS + 5000)
    mail = parse_email(raw)
    assert len(mail.body) == MAX_BODY_CHARS
    assert any("cut" in p for p in mail.problems)


def test_garbage_is_parsed_with_problems() -> None:
    for raw in (b"", b"\x00\x01\x02", b"not an email at all", b"Subject: =?bogus?x?zz?=\r\n\r\n"):
        mail = parse_email(raw)
        assert mail.message_id
        assert mail.problems


def test_multipart_prefers_plain_and_skips_attachments() -> None:
    raw = (b"From: a@b.example\r\nSubject: m\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
           b"--XX\r\nContent-Type: text/plain\r\n\r\nplain text\r\n"
           b"--XX\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n"
           b'--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="a.txt"\r\n\r\nATTACH\r\n'
           b"--XX--\r\n")
    mail = parse_email(raw)
    assert mail.body.strip() == "plain text"


def test_html_to_text_entities() -> None:
    assert html_to_text("<b>a &amp; b</b><br>c") == "a & b\nc"


def test_undeclared_8bit_headers_are_decoded() -> None:
    latin = parse_email(b"From: J\xfcrgen <a@b.example>\r\nSubject: Caf\xe9 Alert{x9}\r\n\r\nbody\r\n")
    assert latin.subject == "Café Alert{x9}"
    assert latin.from_name == "Jürgen"
    utf8 = parse_email("Subject: Temperatur über 90 °C\r\nFrom: a@b.example\r\n\r\nx".encode())
    assert utf8.subject == "Temperatur über 90 °C"


def test_folded_headers_are_unfolded() -> None:
    mail = parse_email(b"Subject: =?utf-8?q?Alert_on?=\r\n =?utf-8?q?_device?= and\r\n\tmore\r\n\r\nx")
    assert mail.subject == "Alert on device and more"


@given(st.text(alphabet=st.sampled_from(list("ab =?Qq_\t\n éü<>@\"()\r,:;")), max_size=40))
def test_a_header_without_an_encoded_word_reads_as_the_email_package_reads_it(text: str) -> None:
    from email.header import decode_header, make_header

    from rmmbridge.alerts.intake.email import _decode_header_value

    assume("=?" not in text)  # encoded words take the email package's own path
    assert _decode_header_value(text) == str(make_header(decode_header(text))) == text
