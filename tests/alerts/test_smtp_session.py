"""The SMTP session's fast address path reads MAIL FROM / RCPT TO arguments exactly as aiosmtpd's own parser."""

from __future__ import annotations

from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rmmbridge.alerts.intake.smtp_session import PlainAddressSMTP

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
PIECES = ["<", ">", "@", ".", " ", "\t", "(", ")", "\"", "[", "]", ":", ",", ";", "\\", "=", "SIZE=12", "BODY=8BITMIME",
          "x", "é", "a@b", "<a@b.c>", "()", "\r\n"]


def _read(session: SMTP, arg: str) -> object:
    try:
        return session._getaddr(arg)
    except Exception as exc:  # the header parser fails on some arguments (IndexError on ","): the same, then
        return type(exc)


def _both(arg: str, limit: int = 0) -> tuple[object, object]:
    own = PlainAddressSMTP(handler=None)
    theirs = SMTP(handler=None)
    own.local_part_limit = theirs.local_part_limit = limit
    return _read(own, arg), _read(theirs, arg)


local = st.text(alphabet=ATEXT, min_size=1, max_size=8)
domain = st.lists(st.text(alphabet="abc019-", min_size=1, max_size=6), min_size=1, max_size=3).map(".".join)
address = st.builds(lambda lo, do: f"{lo}@{do}", st.lists(local, min_size=1, max_size=3).map(".".join), domain)


@settings(max_examples=400)
@given(lead=st.sampled_from(["", " ", "\t", "  "]), addr=address,
       tail=st.sampled_from(["", " ", " SIZE=12", "  SIZE=12 BODY=8BITMIME ", "x", " (comment)", "\t(c) SIZE=1",
                             ">", " <b@c>"]))
@example(lead="", addr="a@b", tail="")
def test_plain_addresses_are_read_as_the_header_parser_reads_them(lead: str, addr: str, tail: str) -> None:
    own, theirs = _both(f"{lead}<{addr}>{tail}")
    assert own == theirs


@settings(max_examples=400)
@given(st.lists(st.sampled_from(PIECES), max_size=10).map("".join))
@example("<>")
@example("<a@[1.2.3.4]>")
@example("<@route:a@b>")
@example("<\"quoted local\"@b.c>")
@example("a@b.c")
def test_any_argument_is_read_as_aiosmtpd_reads_it(arg: str) -> None:
    own, theirs = _both(arg)
    assert own == theirs


@given(addr=address, limit=st.integers(min_value=1, max_value=10))
def test_the_local_part_limit_is_kept(addr: str, limit: int) -> None:
    own, theirs = _both(f"<{addr}>", limit)
    assert own == theirs
