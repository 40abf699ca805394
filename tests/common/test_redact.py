"""Redaction finds a secret in every encoding it can take in a URL, form body, JSON body, XML body or header."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode
from xml.sax.saxutils import escape

from hypothesis import given, settings
from hypothesis import strategies as st

from rmmbridge.common.redact import REDACTED, redact_text

SECRETS = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="*"), min_size=4, max_size=40
).filter(lambda s: s.strip() == s and len(s) >= 4)


def encodings(secret: str) -> dict[str, str]:
    """Every form a secret takes on the wire, keyed by a name for the failure message."""
    user_secret = base64.b64encode(f"api-user:{secret}".encode()).decode()
    return {
        "literal": secret,
        "json": json.dumps(secret)[1:-1],
        "json-unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
        "percent": quote(secret, safe=""),
        "percent-lower": quote(secret, safe="").replace("%2B", "%2b").replace("%40", "%40").lower()
        if secret.isascii() and secret.lower() == secret else quote(secret, safe=""),
        "percent-plus": quote_plus(secret, safe=""),
        "percent-path": quote(secret),
        "xml": escape(secret, {'"': "&quot;"}),
        "basic": user_secret,
        "basic-urlsafe": base64.urlsafe_b64encode(f"u:{secret}".encode()).decode().rstrip("="),
    }


def carriers(secret: str) -> dict[str, str]:
    """The secret inside a URL, a form body, a JSON body, an XML body and headers."""
    forms = encodings(secret)
    return {
        "url": f"https://rmm.example/api/v2/x?{urlencode({'key': secret, 'page': 2})}",
        "url-path": f"https://rmm.example/api/{quote(secret, safe='')}/devices",
        "form": urlencode({"grant_type": "password", "username": "u", "password": secret}),
        "json": json.dumps({"UserName": "u", "Password": secret}),
        "json-unicode": json.dumps({"Password": secret, "note": "x"}, ensure_ascii=False),
        "xml": f"<password>{forms['xml']}</password>",
        "header": f"Authorization: Basic {forms['basic']}\r\nX-Other: 1",
        "header-raw": f"x-custom-auth: {secret}",
        **{f"bare-{name}": f"before {value} after" for name, value in forms.items()},
    }


@settings(max_examples=300, deadline=None)
@given(SECRETS)
def test_no_encoding_of_a_random_secret_survives(secret: str) -> None:
    forms = encodings(secret)
    for where, text in carriers(secret).items():
        cleaned = redact_text(text, [secret])
        assert REDACTED in cleaned, (where, text)
        for name, form in forms.items():
            if len(form) >= 4:
                assert form not in cleaned, (where, name, text, cleaned)


def test_the_issue_examples_are_redacted() -> None:
    secret = 'Pa ss"w\\rd'
    body = json.dumps({"Password": secret})
    assert '"Pa ss\\"w\\\\rd"' in body
    assert redact_text(body, [secret]) == '{"Password": "***"}'
    assert redact_text("key=KEY%2BCAN%40RY&page=2", ["KEY+CAN@RY"]) == "key=***&page=2"
    assert redact_text("key=KEY%2bCAN%40RY", ["KEY+CAN@RY"]) == "key=***"


def test_ordinary_text_is_left_alone() -> None:
    text = '{"name": "Acme", "page": 2, "next": "https://h/api?page=3"} Zm9vYmFyYmF6'
    assert redact_text(text, ["S3cretValue"]) == text
    assert redact_text("abc", ["ab"]) == "abc"  # too short to be redacted as a secret
